"""Weight quantisation of a loaded model's LLM: ``quantize_model(model, mode)``.

Modes (``MODES``):

``none``          full precision, the model is returned unchanged.
``int8-dynamic``  CPU only. PyTorch's own dynamic quantisation
                  (``torch.ao.quantization.quantize_dynamic``): every ``nn.Linear``
                  of the LLM's decoder layers gets int8 weights (per output
                  channel) and quantises its activations on the fly, with
                  fbgemm/onednn int8 kernels. The output layer (``lm_head``),
                  embeddings, norms, the vision tower and the projector stay in
                  floating point: the output layer is the most sensitive one
                  (measured: docs/quantization.md), and where it is tied to the
                  embeddings, quantising it would add an int8 copy instead of
                  saving memory. Activations are quantised with one scale per
                  tensor, i.e. across the whole batch: a window's output then
                  depends on its batch-mates (measured), so this mode breaks the
                  runtime's "a batch answers like its windows one by one".
``int8-dynamic-token``  int8 weights (per output channel) and int8 activations with
                  one scale per token, through torchao
                  (``Int8DynamicActivationInt8WeightConfig``): batch-independent.
                  Runs on CPU and CUDA.
``int8``          weight-only int8 through torchao (``Int8WeightOnlyConfig``,
                  per-row scales); meant for CUDA, also runs on CPU (weights are
                  dequantised per matmul there, so it saves memory, not time).
``int4``          weight-only int4 through torchao (``Int4WeightOnlyConfig``,
                  groups of 128, tinygemm tile-packed layout): needs a CUDA GPU
                  of compute capability >= 8.0 and a bfloat16 model. Linear
                  layers whose input width is not a multiple of 128 stay bf16.

Weight-only modes keep the output layer in floating point too, for the same
reasons as ``int8-dynamic``.

Only the LLM is quantised: it holds nearly all the weights (SigLIP-400M is
~0.4 B of NVILA-Lite-2B's ~2 B) and decoding is bound by reading them.

Failure modes: ``InvalidInput`` for an unknown mode or a mode that does not
fit the model's device/dtype; ``BackendUnavailable`` when CUDA or torchao is
missing for a mode that needs them.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from PIL import Image
from torch import nn

from core.errors import BackendUnavailable, InvalidInput
from workers.runtime.model import CAPTION_PROMPT, VilaModel

NONE, INT8_DYNAMIC, INT8_TOKEN, INT8, INT4 = "none", "int8-dynamic", "int8-dynamic-token", "int8", "int4"
MODES = (NONE, INT8_DYNAMIC, INT8_TOKEN, INT8, INT4)
INT4_GROUP_SIZE = 128


def quantize_model(model: VilaModel, mode: str) -> VilaModel:
    """Quantise ``model``'s LLM in place as ``mode`` says and return the model.

    Quantising is one-way: load the checkpoint again for full precision.
    """
    if mode not in MODES:
        raise InvalidInput(f"unknown quantization {mode!r}; choose one of {', '.join(MODES)}")
    if mode == NONE:
        return model
    if mode == INT8_DYNAMIC:
        _dynamic_int8(model)
    else:
        _torchao_weight_only(model, mode)
    return model


def _dynamic_int8(model: VilaModel) -> None:
    if model.device.type != "cpu":
        raise InvalidInput(f"quantization 'int8-dynamic' runs on CPU only, the model is on {model.device}; "
                           "use 'int8' or 'int4' on CUDA")
    if model.dtype != torch.float32:
        raise InvalidInput(f"quantization 'int8-dynamic' needs a float32 model, got {model.dtype}")
    with warnings.catch_warnings():
        # torch.ao.quantization warns that it moves to torchao; its eager dynamic path is still
        # PyTorch's own CPU int8 implementation (fbgemm/onednn) and the one the tier asks for.
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        output = model.llm.get_output_embeddings()
        spec = {name: per_channel_dynamic_qconfig for name, module in model.llm.named_modules()
                if isinstance(module, nn.Linear) and module is not output}
        quantize_dynamic(model.llm, spec, dtype=torch.qint8, inplace=True)


def _torchao_weight_only(model: VilaModel, mode: str) -> None:
    if mode == INT4:
        if model.device.type != "cuda":
            raise BackendUnavailable(f"quantization 'int4' needs a CUDA GPU (torchao tinygemm kernels); the model is "
                                     f"on {model.device}: use 'int8-dynamic' on CPU")
        if torch.cuda.get_device_capability(model.device)[0] < 8:
            raise BackendUnavailable("quantization 'int4' needs a GPU of compute capability >= 8.0 "
                                     f"(this one is {torch.cuda.get_device_capability(model.device)})")
        if model.dtype != torch.bfloat16:
            raise InvalidInput(f"quantization 'int4' needs a bfloat16 model, got {model.dtype} (load with dtype=bf16)")
    torchao = _import_torchao(mode)
    config: Any
    if mode == INT8:
        config = torchao.Int8WeightOnlyConfig(set_inductor_config=False)
    elif mode == INT8_TOKEN:
        config = torchao.Int8DynamicActivationInt8WeightConfig(set_inductor_config=False)
    else:
        config = torchao.Int4WeightOnlyConfig(group_size=INT4_GROUP_SIZE, int4_packing_format="tile_packed_to_4d",
                                              set_inductor_config=False)
    output = model.llm.get_output_embeddings()

    def eligible(module: nn.Module, _name: str) -> bool:
        # int4 groups run along the input features, so they must divide them.
        return (isinstance(module, nn.Linear) and module is not output
                and (mode != INT4 or module.in_features % INT4_GROUP_SIZE == 0))
    torchao.quantize_(model.llm, config, filter_fn=eligible)


def _import_torchao(mode: str) -> Any:
    try:
        import torchao.quantization as quantization
    except ImportError as exc:
        raise BackendUnavailable(f"quantization {mode!r} needs torchao (pip install 'torchao==0.18.0'): {exc}") from None
    return quantization


# ----------------------------------------------------------------------------- measurement
def _tensor_bytes(tensor: torch.Tensor) -> int:
    """Bytes a tensor's storage holds; torchao tensor subclasses count their inner tensors."""
    flatten = getattr(tensor, "__tensor_flatten__", None)
    if flatten is not None and type(tensor) not in (torch.Tensor, nn.Parameter):
        names, _ = flatten()
        return sum(_tensor_bytes(getattr(tensor, name)) for name in names)
    return tensor.numel() * tensor.element_size()


def _packed_linear_bytes(module: nn.Module) -> int:
    """int8 weight + its scales/zero points + float bias of a dynamically quantised Linear."""
    weight, bias = module._packed_params._weight_bias()
    if weight.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
        qparams = _tensor_bytes(weight.q_per_channel_scales()) + _tensor_bytes(weight.q_per_channel_zero_points())
    else:
        qparams = 16  # one float64 scale, one int64 zero point
    return weight.numel() * weight.element_size() + qparams + (_tensor_bytes(bias) if bias is not None else 0)


def weight_bytes(module: nn.Module) -> int:
    """Bytes of the weights ``module`` holds: parameters, buffers and packed int8 linear weights.

    A tensor shared by two modules (tied embeddings) is counted once.
    """
    dynamic_linear = torch.ao.nn.quantized.dynamic.Linear
    seen: set[int] = set()
    total = 0
    for sub in module.modules():
        if isinstance(sub, dynamic_linear):
            total += _packed_linear_bytes(sub)
        for tensor in list(sub.parameters(recurse=False)) + list(sub.buffers(recurse=False)):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                total += _tensor_bytes(tensor)
    return total


def model_weight_bytes(model: VilaModel) -> dict[str, int]:
    """``{"llm", "vision_tower", "projector", "total"}`` weight bytes of a loaded model."""
    parts = {"llm": weight_bytes(model.llm), "vision_tower": weight_bytes(model.tower),
             "projector": weight_bytes(model.projector)}
    parts["total"] = sum(parts.values())
    return parts


# ----------------------------------------------------------------------------- output change
@dataclass(frozen=True)
class Fidelity:
    """How much a (quantised) model's output differs from a reference model's on the same windows.

    first_token_agreement: fraction of windows whose first greedy token is the same.
    token_agreement: over all windows, the fraction of caption token positions (up to the
        longer caption of each pair) where both greedy captions have the same token.
    exact_captions: windows whose captions are identical.
    max_logit_diff: largest |logit difference| at the last prompt position (the first
        generated token's scores) over the windows; max_logit is the reference's largest
        |logit| there, for scale.
    """

    windows: int
    first_token_agreement: float
    token_agreement: float
    exact_captions: int
    max_logit_diff: float
    max_logit: float


def token_agreement(reference: Sequence[Sequence[int]], candidate: Sequence[Sequence[int]]) -> float:
    """Matching positions / positions, pairing row i of each; 1.0 when everything is empty."""
    same = total = 0
    for ref, cand in zip(reference, candidate, strict=True):
        total += max(len(ref), len(cand))
        same += sum(1 for a, b in zip(ref, cand) if a == b)
    return same / total if total else 1.0


@torch.inference_mode()
def prompt_logits(model: VilaModel, windows: Sequence[Sequence[Image.Image]]) -> torch.Tensor:
    """(windows, vocab) float32 logits of the first caption token, one forward pass over the batch."""
    # Same embedding path as VilaModel.caption (its batch builder), so the input is exactly what decoding sees.
    batch = model._video_batch(windows, [CAPTION_PROMPT] * len(windows), extra_tokens=0)
    out = model.llm(inputs_embeds=batch.embeds, attention_mask=batch.mask, position_ids=batch.positions,
                    logits_to_keep=1)
    logits = out.logits[:, -1].float().cpu()
    banned = list(model.media.banned_ids)
    if banned:  # never generated, so left out of the comparison
        logits[:, banned] = 0.0
    return logits


def compare_outputs(reference: VilaModel, candidate: VilaModel, windows: Sequence[Sequence[Image.Image]], *,
                    max_new_tokens: int = 32) -> Fidelity:
    """Greedy captions and first-token logits of ``candidate`` against ``reference`` on ``windows``."""
    ref_text = reference.caption(windows, max_new_tokens=max_new_tokens)
    cand_text = candidate.caption(windows, max_new_tokens=max_new_tokens)

    def ids(texts: list[str]) -> list[list[int]]:
        return [list(reference.tokenizer(t, add_special_tokens=False).input_ids) for t in texts]

    ref_logits, cand_logits = prompt_logits(reference, windows), prompt_logits(candidate, windows)
    allowed = torch.ones(ref_logits.shape[-1], dtype=torch.bool)
    allowed[list(reference.media.banned_ids)] = False
    first = (ref_logits[:, allowed].argmax(-1) == cand_logits[:, allowed].argmax(-1)).float().mean().item()
    return Fidelity(
        windows=len(windows), first_token_agreement=first, token_agreement=token_agreement(ids(ref_text), ids(cand_text)),
        exact_captions=sum(a == b for a, b in zip(ref_text, cand_text)),
        max_logit_diff=(ref_logits - cand_logits).abs().max().item(), max_logit=ref_logits.abs().max().item(),
    )
