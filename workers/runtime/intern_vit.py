"""InternViT (VILA1.5-40b's ``InternViT-6B-448px-V1-2`` tower), written from its released config and key names.

transformers has no class with the released key names, so this module builds
the network itself: patch conv + class token + learned positions, then
pre-norm blocks ``x + ls1 * attn(norm1(x))``, ``x + ls2 * mlp(norm2(x))`` with
RMSNorm (``norm_type: rms_norm``), a fused ``qkv`` projection (bias per
``qkv_bias``) and RMSNorm over the full width of q and k (``qk_normalization``).
Keys: ``embeddings.{class_embedding,patch_embedding,position_embedding}``,
``encoder.layers.{i}.{attn.qkv,attn.proj,attn.q_norm,attn.k_norm,norm1,norm2,ls1,ls2,mlp.fc1,mlp.fc2}``.
``forward`` returns an object with ``hidden_states`` (embeddings, then every layer),
like the HF towers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ModelLayoutError
from workers.runtime.weights import read_state

MODEL_TYPE = "intern_vit_6b"


@dataclass(frozen=True)
class InternVitConfig:
    hidden_size: int
    intermediate_size: int
    num_attention_heads: int
    num_hidden_layers: int
    image_size: int
    patch_size: int
    qkv_bias: bool
    qk_normalization: bool
    norm_type: str
    layer_norm_eps: float
    num_channels: int = 3

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: Path) -> "InternVitConfig":
        """Read the released fields; ModelLayoutError names a missing one."""
        values = {}
        for name in ("hidden_size", "intermediate_size", "num_attention_heads", "num_hidden_layers",
                     "image_size", "patch_size"):
            if not isinstance(raw.get(name), int):
                raise ModelLayoutError(f"{where}: field '{name}' is missing or not an integer")
            values[name] = raw[name]
        return cls(
            **values, qkv_bias=bool(raw.get("qkv_bias", False)),
            qk_normalization=bool(raw.get("qk_normalization", True)),
            norm_type=str(raw.get("norm_type", "rms_norm")), layer_norm_eps=float(raw.get("layer_norm_eps", 1e-6)),
            num_channels=int(raw.get("num_channels", 3)),
        )


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def _norm(cfg: InternVitConfig, dim: int) -> nn.Module:
    return RMSNorm(dim, cfg.layer_norm_eps) if cfg.norm_type == "rms_norm" else nn.LayerNorm(dim, cfg.layer_norm_eps)


class Embeddings(nn.Module):
    def __init__(self, cfg: InternVitConfig) -> None:
        super().__init__()
        d = cfg.hidden_size
        positions = (cfg.image_size // cfg.patch_size) ** 2 + 1
        self.class_embedding = nn.Parameter(torch.zeros(1, 1, d))
        self.patch_embedding = nn.Conv2d(cfg.num_channels, d, cfg.patch_size, cfg.patch_size)
        self.position_embedding = nn.Parameter(torch.zeros(1, positions, d))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embedding(pixels.to(self.patch_embedding.weight.dtype)).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(patches.shape[0], -1, -1).to(patches.dtype)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.to(patches.dtype)


class Attention(nn.Module):
    def __init__(self, cfg: InternVitConfig) -> None:
        super().__init__()
        d = cfg.hidden_size
        self.heads = cfg.num_attention_heads
        self.qkv = nn.Linear(d, 3 * d, bias=cfg.qkv_bias)
        self.proj = nn.Linear(d, d)
        self.qk_normalization = cfg.qk_normalization
        if cfg.qk_normalization:
            self.q_norm = _norm(cfg, d)
            self.k_norm = _norm(cfg, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        if self.qk_normalization:  # over the full width, before the split into heads
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = (t.reshape(b, n, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, cfg: InternVitConfig) -> None:
        super().__init__()
        self.fc1 = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.fc2 = nn.Linear(cfg.intermediate_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Layer(nn.Module):
    def __init__(self, cfg: InternVitConfig) -> None:
        super().__init__()
        d = cfg.hidden_size
        self.attn = Attention(cfg)
        self.mlp = Mlp(cfg)
        self.norm1 = _norm(cfg, d)
        self.norm2 = _norm(cfg, d)
        self.ls1 = nn.Parameter(torch.ones(d))
        self.ls2 = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x)) * self.ls1
        return x + self.mlp(self.norm2(x)) * self.ls2


class Encoder(nn.Module):
    def __init__(self, cfg: InternVitConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg.num_hidden_layers))


class InternVisionModel(nn.Module):
    """The tower; ``forward(pixel_values=...)`` -> namespace with ``hidden_states`` and ``last_hidden_state``."""

    def __init__(self, cfg: InternVitConfig) -> None:
        super().__init__()
        self.config = SimpleNamespace(**cfg.__dict__)
        self.embeddings = Embeddings(cfg)
        self.encoder = Encoder(cfg)

    def forward(self, pixel_values: torch.Tensor, output_hidden_states: bool = True) -> SimpleNamespace:
        x = self.embeddings(pixel_values)
        states = [x]
        for layer in self.encoder.layers:
            x = layer(x)
            states.append(x)
        return SimpleNamespace(hidden_states=tuple(states), last_hidden_state=x)


def load_intern_vit(folder: Path, dtype: torch.dtype) -> tuple[nn.Module, str]:
    """Build from ``folder/config.json`` and load ``model.safetensors`` strictly (ModelLayoutError on mismatch)."""
    cfg = InternVitConfig.from_dict(json.loads((folder / "config.json").read_text()), folder / "config.json")
    model = InternVisionModel(cfg)
    path = folder / "model.safetensors"
    state = read_state(folder)
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ModelLayoutError(f"{path} keys do not match InternViT: missing {missing[:5]}, "
                               f"unexpected {unexpected[:5]}")
    wrong = [k for k in expected if tuple(expected[k].shape) != tuple(state[k].shape)]
    if wrong:
        raise ModelLayoutError(f"{path}: '{wrong[0]}' has shape {tuple(state[wrong[0]].shape)}, "
                               f"expected {tuple(expected[wrong[0]].shape)}")
    model.load_state_dict(state, strict=True)
    name = f"internvit-{cfg.image_size}px-p{cfg.patch_size}-{cfg.num_hidden_layers}l-{cfg.hidden_size}"
    return model.to(dtype), name
