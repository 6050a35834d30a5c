"""InternViT (VILA1.5-40b tower): released key names, CLS handling, RMS q/k norm, ImageNet preprocessing."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.errors import ModelLayoutError
from workers.runtime import load_model, make_tiny
from workers.runtime.intern_vit import InternVisionModel, InternVitConfig
from workers.runtime.weights import read_state

CFG = {"hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2, "num_hidden_layers": 2,
       "image_size": 16, "patch_size": 8, "qkv_bias": False, "qk_normalization": True, "norm_type": "rms_norm"}


def test_keys_and_hidden_states():
    model = InternVisionModel(InternVitConfig.from_dict(CFG, Path("c.json")))
    keys = set(model.state_dict())
    assert {"embeddings.class_embedding", "embeddings.position_embedding", "encoder.layers.0.ls1",
            "encoder.layers.1.attn.k_norm.weight", "encoder.layers.0.attn.qkv.weight"} <= keys
    assert model.state_dict()["embeddings.position_embedding"].shape == (1, 4 + 1, 8)
    out = model(pixel_values=torch.randn(3, 3, 16, 16))
    assert len(out.hidden_states) == 3 and out.hidden_states[-1].shape == (3, 5, 8)  # CLS + 2x2 patches
    with pytest.raises(ModelLayoutError, match="num_attention_heads"):
        InternVitConfig.from_dict({**CFG, "num_attention_heads": None}, Path("c.json"))


def test_40b_tower_drops_cls_and_uses_imagenet_normalisation(tmp_path):
    model = load_model(make_tiny(tmp_path / "m", like="vila1.5-40b"))
    tower = model.tower
    assert (tower.select_layer, tower.select_feature, tower.has_cls) == (-1, "patch", True)
    pixels = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        full = tower.model(pixel_values=pixels)
        assert torch.equal(tower(pixels), full.hidden_states[-1][:, 1:])
    assert tower.num_tokens == 64
    assert model.processor.mean == (0.485, 0.456, 0.406) and model.processor.std == (0.229, 0.224, 0.225)


def test_40b_tower_weights_must_match(tmp_path):
    path = make_tiny(tmp_path / "m", like="vila1.5-40b")
    from safetensors.torch import save_file

    state = read_state(path / "vision_tower")
    state["encoder.layers.0.attn.qkv.bias"] = torch.zeros(3 * 64)
    save_file(state, path / "vision_tower/model.safetensors")
    with pytest.raises(ModelLayoutError, match="qkv.bias"):
        load_model(path)
