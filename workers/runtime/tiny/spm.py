"""SentencePiece tokenizer for tiny VILA1.5-shaped checkpoints: ``llm/tokenizer.model`` as Llama-2 ships it.

A BPE model with byte fallback, ``<unk>``/``<s>``/``</s>`` at ids 0/1/2, a dummy-prefix
``▁`` and digit splitting (Llama-2's settings), trained with one thread on a fixed text
(the tiny vocabulary's words), so the same bytes come out every time. Loaded through
``LlamaTokenizer`` (``legacy: false``), it behaves like the released one where the runtime
cares: ``tokenizer("\\n")`` is ``[<s>, ▁, <0x0A>]`` and every chunk gets its own BOS.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import sentencepiece as spm

from workers.runtime.tiny.tokenizer import MAX_LENGTH
from workers.runtime.tiny.vocab import CAPITALIZED, WORDS

VOCAB_SIZE = 1500
SPECIALS = {"unk": "<unk>", "bos": "<s>", "eos": "</s>", "pad": "<unk>"}
_CACHE: dict[str, bytes] = {}


def _training_text() -> list[str]:
    lines = [" ".join(WORDS[i:i + 12]) for i in range(0, len(WORDS), 12)]
    lines += [" ".join(word.capitalize() for word in CAPITALIZED)]
    return lines * 4


def train_model() -> bytes:
    """Train the SentencePiece model on the fixed text and return it serialized (deterministic: one thread)."""
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_training_text()), model_writer=buffer, vocab_size=VOCAB_SIZE, model_type="bpe",
        byte_fallback=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, hard_vocab_limit=False,
        normalization_rule_name="identity", add_dummy_prefix=True, remove_extra_whitespaces=False,
        split_digits=True, character_coverage=1.0, minloglevel=2,
    )
    return buffer.getvalue()


def model_bytes() -> bytes:
    """The serialized SentencePiece model (``train_model``, trained once per process)."""
    if "model" not in _CACHE:
        _CACHE["model"] = train_model()
    return _CACHE["model"]


def write_spm_tokenizer(folder: Path) -> int:
    """Write ``tokenizer.model``, ``tokenizer_config.json``, ``special_tokens_map.json``; returns the vocab size."""
    data = model_bytes()
    (folder / "tokenizer.model").write_bytes(data)
    config = {
        "tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False, "legacy": False,
        "model_max_length": MAX_LENGTH, "padding_side": "right", "clean_up_tokenization_spaces": False,
        **{k + "_token": v for k, v in SPECIALS.items()},
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    special_map = {k + "_token": v for k, v in SPECIALS.items()}
    (folder / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2, sort_keys=True) + "\n")
    return spm.SentencePieceProcessor(model_proto=data).get_piece_size()


def spm_special_ids() -> dict[str, int | None]:
    """bos/eos/pad ids (pad is <unk>, as Llama-2 has no pad token)."""
    return {"bos": 1, "eos": 2, "pad": 0}


def spm_word_ids() -> list[int]:
    """Ids of "▁<word>" pieces and , . ! ? - what the tiny model may emit (see ``tokenizer.word_token_ids``)."""
    processor = spm.SentencePieceProcessor(model_proto=model_bytes())
    wanted = ["\u2581" + word for word in WORDS if word.isalnum()] + list(",.!?")
    ids = [processor.piece_to_id(piece) for piece in wanted]
    return sorted({i for i, piece in zip(ids, wanted) if i != processor.unk_id()})
