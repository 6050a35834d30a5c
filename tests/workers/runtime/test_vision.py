"""Image preprocessing and vision feature selection."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from core.errors import ModelLayoutError
from workers.runtime.vision import ImageProcessor, VisionTower

SIGLIP = {"size": {"height": 16, "width": 16}, "resample": 3, "rescale_factor": 1 / 255,
          "image_mean": [0.5] * 3, "image_std": [0.5] * 3}


def test_resize_rescale_normalise():
    proc = ImageProcessor.from_config(SIGLIP, "resize", Path("p.json"))
    white = Image.new("RGB", (40, 20), (255, 255, 255))
    black = Image.new("L", (8, 30), 0)  # converted to RGB
    out = proc([white, black])
    assert out.shape == (2, 3, 16, 16) and out.dtype == torch.float32
    assert torch.allclose(out[0], torch.ones_like(out[0])) and torch.allclose(out[1], -torch.ones_like(out[1]))


def test_resize_is_pil_bicubic_square():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (30, 50, 3), dtype=np.uint8))
    proc = ImageProcessor.from_config(SIGLIP, "resize", Path("p.json"))
    expected = np.asarray(image.resize((16, 16), Image.Resampling.BICUBIC), dtype=np.float32) / 255 * 2 - 1
    assert np.allclose(proc([image])[0].permute(1, 2, 0).numpy(), expected, atol=1e-6)


def test_pad_fills_with_mean_colour():
    proc = ImageProcessor.from_config(SIGLIP, "pad", Path("p.json"))
    tall = Image.new("RGB", (4, 16), (255, 0, 0))
    out = proc([tall])[0]
    # left/right margins are (127,127,127) -> 127/255*2-1
    assert out[:, 8, 0].tolist() == pytest.approx([127 / 255 * 2 - 1] * 3, abs=1e-6)
    assert out[0, 8, 8].item() == pytest.approx(1.0, abs=1e-6)


def test_bad_size_names_field():
    with pytest.raises(ModelLayoutError, match="'size'"):
        ImageProcessor.from_config({"size": "big"}, "resize", Path("pre.json"))


def test_tower_uses_select_layer_without_post_layernorm(tiny_model, tiny_model_dir):
    tower = tiny_model.tower
    pixels = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        features = tower(pixels)
        full = tower.model(pixel_values=pixels, output_hidden_states=True)
    assert features.shape == (2, 64, 64)  # cls_patch keeps all 8x8 tokens
    assert torch.equal(features, full.hidden_states[-2])
    assert not torch.allclose(features, full.last_hidden_state)
    patch = VisionTower(tower.model, -2, "patch", "x")
    with torch.no_grad():
        assert torch.equal(patch(pixels), full.hidden_states[-2][:, 1:])
    assert patch.num_tokens == 63 and tower.num_tokens == 64


def test_tower_weights_come_from_the_file(tiny_model, tiny_model_dir):
    state = load_file(tiny_model_dir / "vision_tower/model.safetensors")
    loaded = tiny_model.tower.model.state_dict()
    for key, value in state.items():
        assert torch.equal(loaded[key.removeprefix("vision_model.")], value), key
