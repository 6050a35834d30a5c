"""Projector registry, released key names, token counts and the spatial merge rule."""
from __future__ import annotations

import pytest
import torch

from workers.runtime.projectors import build_projector, find_builder, known_types
from workers.runtime.projectors.merge import grid_side, spatial_merge


def keys(type_name: str, c: int = 8, h: int = 16) -> set[str]:
    return set(build_projector(type_name, c, h).state_dict())


def test_released_key_names_per_type():
    assert keys("linear") == {"layers.weight", "layers.bias"}
    assert keys("mlp2x_gelu") == {"layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"}
    assert {"layers.4.weight", "layers.4.bias"} <= keys("mlp3x_gelu")
    assert keys("mlp_downsample") == {f"layers.{i}.{p}" for i in (1, 2, 4) for p in ("weight", "bias")}
    assert keys("mlp_downsample_3x3_fix") == {f"layers.{i}.{p}" for i in (1, 2, 4, 5, 7) for p in ("weight", "bias")}


def test_layer_shapes_follow_reference_table():
    c, h = 8, 16
    down = build_projector("mlp_downsample", c, h).state_dict()
    assert down["layers.1.weight"].shape == (4 * c,)
    assert down["layers.2.weight"].shape == (h, 4 * c)
    fix = build_projector("mlp_downsample_3x3_fix", c, h).state_dict()
    assert fix["layers.1.weight"].shape == (9 * c,)
    assert fix["layers.2.weight"].shape == (3 * c, 9 * c)
    assert fix["layers.4.weight"].shape == (3 * c,)
    assert fix["layers.5.weight"].shape == (h, 3 * c)
    assert fix["layers.7.weight"].shape == (h, h)


def test_unknown_type_is_not_registered():
    assert find_builder("mlp_downsample_9x9") is None
    assert find_builder("mlp0x_gelu") is not None  # matches the pattern ...
    with pytest.raises(KeyError):
        build_projector("mlp0x_gelu", 4, 4)  # ... but depth 0 is rejected
    with pytest.raises(KeyError):
        build_projector("nope", 4, 4)
    assert "mlp_downsample" in known_types()


@pytest.mark.parametrize(
    ("type_name", "side", "expected"),
    [("mlp_downsample", 27, 196), ("mlp_downsample", 32, 256), ("mlp_downsample_3x3_fix", 32, 121),
     ("mlp_downsample_3x3_fix", 27, 81), ("linear", 27, 729), ("mlp2x_gelu", 8, 64)],
)
def test_token_counts(type_name, side, expected):
    proj = build_projector(type_name, 4, 6)
    assert proj.num_tokens(side * side) == expected
    with torch.no_grad():
        out = proj(torch.randn(2, side * side, 4))
    assert out.shape == (2, expected, 6)


def test_merge_channel_order_padding_and_row_major():
    # 3x3 grid, 2 channels; token (r, c) has features [10r + c, -(10r + c)].
    side, c, k = 3, 2, 2
    grid = torch.tensor([[[10 * r + col, -(10 * r + col)] for r in range(side) for col in range(side)]],
                        dtype=torch.float32)
    merged = spatial_merge(grid, k)
    assert merged.shape == (1, 4, k * k * c)

    def block(r0, c0):
        out = []
        for dr in range(k):
            for dc in range(k):
                r, col = r0 + dr, c0 + dc
                v = 10 * r + col if r < side and col < side else None
                out += [v, -v] if v is not None else [0.0, 0.0]  # zero padding bottom/right
        return out

    expected = [block(0, 0), block(0, 2), block(2, 0), block(2, 2)]  # row-major over blocks
    assert merged[0].tolist() == expected
    # channel index (dr*k + dc)*C + c: block (0,0), dr=1, dc=0, c=1 is -(10*1 + 0)
    assert merged[0, 0, (1 * k + 0) * c + 1].item() == -10


def test_merge_column_order_transposes_blocks_only():
    grid = torch.arange(4 * 4 * 3, dtype=torch.float32).reshape(1, 16, 3)
    row = spatial_merge(grid, 2, "row")
    col = spatial_merge(grid, 2, "column")
    assert torch.equal(col[0, 1], row[0, 2]) and torch.equal(col[0, 2], row[0, 1])
    assert torch.equal(col[0, 0], row[0, 0]) and torch.equal(col[0, 3], row[0, 3])


def test_merge_3x3_pads_32_to_33():
    grid = torch.ones(1, 32 * 32, 1)
    merged = spatial_merge(grid, 3)
    assert merged.shape == (1, 121, 9)
    # last block column: the 3rd column (dc=2) of every row is padding.
    last = merged[0, 10]
    assert last.tolist() == [1, 1, 0, 1, 1, 0, 1, 1, 0]
    # bottom-right block: only its (0,0),(0,1),(1,0),(1,1) are real.
    assert merged[0, 120].tolist() == [1, 1, 0, 1, 1, 0, 0, 0, 0]


def test_downsample_gelu_is_exact_and_non_square_rejected():
    proj = build_projector("mlp_downsample", 4, 6)
    gelus = [m for m in proj.modules() if isinstance(m, torch.nn.GELU)]
    assert gelus and all(m.approximate == "none" for m in gelus)
    with pytest.raises(ValueError):
        grid_side(30)


def test_legacy_column_order_on_a_hand_built_grid():
    # The same 3x3 grid as above: VILA1.5-era mlp_downsample emits the blocks column-major.
    side, c, k = 3, 2, 2
    grid = torch.tensor([[[10 * r + col, -(10 * r + col)] for r in range(side) for col in range(side)]],
                        dtype=torch.float32)
    row, col = spatial_merge(grid, k, "row"), spatial_merge(grid, k, "column")
    assert [col[0, i].tolist() for i in range(4)] == [row[0, i].tolist() for i in (0, 2, 1, 3)]
    assert col[0, 1, :2].tolist() == [20, -20]  # block (row 1, col 0) comes second: rows vary fastest


def test_order_reaches_the_projector_and_fix_types_stay_row_major():
    x = torch.randn(1, 16, 3)
    legacy = build_projector("mlp_downsample", 3, 4, "column")
    fix = build_projector("mlp_downsample_2x2_fix", 3, 4, "column")
    assert legacy.layers[0].order == "column" and fix.layers[0].order == "row"
    assert keys("mlp_downsample_2x2_fix") == keys("mlp_downsample")
    fix.load_state_dict(legacy.state_dict())
    with torch.no_grad():
        a, b = legacy(x), fix(x)
    assert torch.allclose(a[0, 1], b[0, 2]) and torch.allclose(a[0, 2], b[0, 1])
