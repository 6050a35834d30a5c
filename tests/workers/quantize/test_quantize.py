"""Weight quantisation of the LLM (``quantize_model``), on the tiny checkpoint through the real loader."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from core.errors import BackendUnavailable, InvalidInput
from tests.support.model_fixtures import scene_frames
from workers.runtime import load_model
from workers.runtime.quantize import MODES, compare_outputs, model_weight_bytes, quantize_model, token_agreement
from workers.tiers import TIERS, load_for_tier

LABELS = ["a person walking", "a vehicle moving", "nothing moving", "an object appearing"]


@pytest.fixture(scope="module")
def clips():
    return [scene_frames(4, seed=s) for s in range(12)]


@pytest.fixture(scope="module")
def int8_dynamic(tiny_model_dir):
    return quantize_model(load_model(tiny_model_dir), "int8-dynamic")


def _decoder_linears(model):
    output = model.llm.get_output_embeddings()
    return [m for m in model.llm.modules() if isinstance(m, nn.Linear) and m is not output]


def test_none_returns_the_model_unchanged(tiny_model_dir):
    model = load_model(tiny_model_dir)
    before = {k: v.clone() for k, v in model.llm.state_dict().items()}
    assert quantize_model(model, "none") is model
    assert all(torch.equal(before[k], v) for k, v in model.llm.state_dict().items())


def test_int8_dynamic_replaces_decoder_linears_and_shrinks_them(tiny_model, int8_dynamic):
    dynamic = torch.ao.nn.quantized.dynamic.Linear
    assert not _decoder_linears(int8_dynamic), "a decoder nn.Linear was left in float"
    quantized = [m for m in int8_dynamic.llm.modules() if isinstance(m, dynamic)]
    assert len(quantized) == 7 * int8_dynamic.llm.config.num_hidden_layers  # q k v o gate up down
    assert isinstance(int8_dynamic.llm.get_output_embeddings(), nn.Linear)  # kept in float on purpose
    full, small = model_weight_bytes(tiny_model), model_weight_bytes(int8_dynamic)
    linear_fp32 = sum(m.weight.numel() * 4 for m in _decoder_linears(tiny_model))
    linear_int8 = sum(m.weight().numel() for m in quantized)
    # Each int8 weight is a quarter of its float32 self; scales, zero points and biases add a little.
    assert full["llm"] - small["llm"] >= 0.7 * (linear_fp32 - linear_int8)
    assert small["vision_tower"] == full["vision_tower"] and small["projector"] == full["projector"]


def test_int8_dynamic_outputs_stay_sane(tiny_model, int8_dynamic, clips):
    """Close to float32 window by window (docs/quantization.md has the measured numbers).

    Not asserted: batch independence. One activation scale per batch tensor makes a
    window's caption depend on its batch-mates, which is why the edge tier uses int8-dynamic-token instead.
    """
    change = compare_outputs(tiny_model, int8_dynamic, clips, max_new_tokens=16)
    print(f"\nint8-dynamic vs float32 on {change.windows} windows: first-token agreement "
          f"{change.first_token_agreement:.3f}, token agreement {change.token_agreement:.3f}, exact captions "
          f"{change.exact_captions}, max abs logit diff {change.max_logit_diff:.3g} of {change.max_logit:.3g}")
    assert change.first_token_agreement >= 0.8
    assert change.max_logit_diff < 0.15 * change.max_logit
    assert all(c.strip() for c in int8_dynamic.caption(clips, max_new_tokens=16))
    reference = tiny_model.score_labels(clips, LABELS)
    quantized = int8_dynamic.score_labels(clips, LABELS)
    assert [r[0].label for r in reference] == [q[0].label for q in quantized]


def test_int8_weight_only_through_torchao_on_cpu(tiny_model, tiny_model_dir, clips):
    pytest.importorskip("torchao")
    model = quantize_model(load_model(tiny_model_dir), "int8")
    weight = model.llm.model.layers[0].self_attn.q_proj.weight
    assert type(weight).__name__ == "Int8Tensor"
    assert model_weight_bytes(model)["llm"] < model_weight_bytes(tiny_model)["llm"]
    change = compare_outputs(tiny_model, model, clips, max_new_tokens=16)
    assert change.first_token_agreement >= 0.8 and change.max_logit_diff < 0.1 * change.max_logit


def test_int8_dynamic_token_is_batch_independent(tiny_model, tiny_model_dir, clips):
    pytest.importorskip("torchao")
    model = quantize_model(load_model(tiny_model_dir), "int8-dynamic-token")
    assert type(model.llm.model.layers[0].mlp.up_proj.weight).__name__ == "Int8Tensor"
    batched = model.caption(clips, max_new_tokens=16)
    assert batched == [model.caption([c], max_new_tokens=16)[0] for c in clips]
    change = compare_outputs(tiny_model, model, clips, max_new_tokens=16)
    print(f"\nint8-dynamic-token vs float32: {change}")
    assert change.first_token_agreement >= 0.8 and change.max_logit_diff < 0.1 * change.max_logit


def test_token_agreement_counts_positions_of_the_longer_caption():
    assert token_agreement([[1, 2, 3]], [[1, 2, 3]]) == 1.0
    assert token_agreement([[1, 2, 3, 4]], [[1, 9]]) == 0.25
    assert token_agreement([[1], []], [[1], [5, 6]]) == pytest.approx(1 / 3)
    assert token_agreement([], []) == 1.0


def test_bad_modes_fail_clearly(tiny_model_dir):
    model = load_model(tiny_model_dir)
    with pytest.raises(InvalidInput, match="unknown quantization 'int3'.*int8-dynamic"):
        quantize_model(model, "int3")
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailable, match="'int4' needs a CUDA GPU"):
            quantize_model(model, "int4")
    bf16 = load_model(tiny_model_dir, dtype="bfloat16")
    with pytest.raises(InvalidInput, match="needs a float32 model"):
        quantize_model(bf16, "int8-dynamic")


def test_tiers_quantize_as_configured(tiny_model_dir, clips):
    assert TIERS["edge"].quantization == "int8-dynamic-token" and TIERS["cloud"].quantization == "none"
    assert set(MODES) == {"none", "int8-dynamic", "int8-dynamic-token", "int8", "int4"}
    with pytest.raises(InvalidInput, match="quantization 'fp8'"):
        replace(TIERS["edge"], quantization="fp8")
    model = load_for_tier(tiny_model_dir, replace(TIERS["edge"], quantization="int8-dynamic"))
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in model.llm.modules())
    assert all(c for c in model.caption(clips[:2], max_new_tokens=8))
    edge = load_for_tier(tiny_model_dir, TIERS["edge"])  # the default: int8 weights through torchao
    assert type(edge.llm.model.layers[0].self_attn.q_proj.weight).__name__ == "Int8Tensor"
    full = load_for_tier(tiny_model_dir, replace(TIERS["edge"], quantization="none"))  # full precision on request
    assert type(full.llm.model.layers[0].self_attn.q_proj.weight) is nn.Parameter


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_weight_only_on_cuda(tiny_model_dir, tiny_model, clips, mode):
    pytest.importorskip("torchao")
    model = quantize_model(load_model(tiny_model_dir, device="cuda", dtype="bfloat16"), mode)
    reference = load_model(tiny_model_dir, device="cuda", dtype="bfloat16")
    change = compare_outputs(reference, model, clips, max_new_tokens=16)
    print(f"\n{mode} on CUDA: {change}")
    assert all(c for c in model.caption(clips, max_new_tokens=8))
    if mode == "int8":
        assert model_weight_bytes(model)["llm"] < model_weight_bytes(reference)["llm"]
