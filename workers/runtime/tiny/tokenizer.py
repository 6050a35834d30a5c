"""Byte-level BPE tokenizer for the tiny checkpoint, saved in the HF fast-tokenizer format.

The vocabulary is built by hand, deterministically: the 256 byte-level symbols
plus the merges that make every word of ``vocab.WORDS`` (after a space,
and bare) one token. The pipeline
(NFC, Qwen2 split regex, byte-level) is the one HF's ``Qwen2Tokenizer`` rebuilds,
so ``AutoTokenizer`` gives the same ids whichever class it picks. Any text
round-trips exactly; words of the list are usually one token.

``write_tokenizer(folder, style)`` writes ``tokenizer.json``,
``tokenizer_config.json`` (with ``chat_template``) and ``special_tokens_map.json``.
``style`` is ``qwen2`` (ChatML specials, no BOS, EOS ``<|im_end|>``), ``llama``
(``<s>`` prepended, EOS ``</s>``), ``llama3`` (Llama-3 header specials, BOS
prepended, EOS ``<|eot_id|>``) or ``yi`` (ChatML specials, EOS ``<|im_end|>``).
"""
from __future__ import annotations

import json
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from workers.runtime.tiny.vocab import CAPITALIZED, WORDS

# The split regex of Qwen2's tokenizer (also what transformers' Qwen2Tokenizer installs).
SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)
# VILA's qwen2.jinja renders this system turn (no final period) when none is given.
QWEN2_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
STYLES = {
    "qwen2": {"specials": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], "bos": None,
              "eos": "<|im_end|>", "pad": "<|endoftext|>", "unk": None, "chat_template": QWEN2_TEMPLATE},
    "llama": {"specials": ["<unk>", "<s>", "</s>"], "bos": "<s>", "eos": "</s>", "pad": "<unk>", "unk": "<unk>",
              "chat_template": None},
    # Llama-3-Instruct: BOS added, end of turn <|eot_id|>, no pad token.
    "llama3": {"specials": ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                            "<|eot_id|>"],
               "bos": "<|begin_of_text|>", "eos": "<|eot_id|>", "pad": None, "unk": None, "chat_template": None},
    # Nous-Hermes-2-Yi-34B: ChatML specials, EOS <|im_end|>, BOS not added (see docs/decisions.md).
    "yi": {"specials": ["<unk>", "<|startoftext|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"],
           "bos": "<|startoftext|>", "eos": "<|im_end|>", "pad": "<unk>", "unk": "<unk>", "chat_template": None,
           "add_bos": False},
}
MAX_LENGTH = 2048


def _apply_merges(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """BPE as the tokenizers library applies it: repeatedly merge the lowest-ranked adjacent pair."""
    while len(symbols) > 1:
        pairs = [(ranks.get(pair, len(ranks)), i) for i, pair in enumerate(zip(symbols, symbols[1:]))]
        rank, i = min(pairs)
        if rank == len(ranks):
            break
        symbols = symbols[:i] + [symbols[i] + symbols[i + 1]] + symbols[i + 2:]
    return symbols


def _vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Deterministic vocab/merges that make every listed form a single token.

    For each form in order, while BPE (with the merges so far) leaves it in
    several pieces, append a merge of its leftmost pair. A merge appended later
    ranks lower, so it never changes how earlier forms are split.
    """
    space = "Ġ"  # byte-level symbol of " "
    forms = [space + word for word in WORDS]
    forms += [word for word in WORDS if len(word) > 1]
    forms += [word.capitalize() for word in CAPITALIZED]
    vocab = {symbol: i for i, symbol in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    ranks: dict[tuple[str, str], int] = {}
    for form in dict.fromkeys(forms):
        pieces = _apply_merges(list(form), ranks)
        while len(pieces) > 1:
            pair = (pieces[0], pieces[1])
            ranks[pair] = len(ranks)
            vocab.setdefault(pair[0] + pair[1], len(vocab))
            pieces = _apply_merges(pieces, {pair: 0})
    return vocab, list(ranks)


def build_tokenizer(style: str) -> Tokenizer:
    """The ``tokenizers`` object for ``style``; KeyError for an unknown style."""
    spec = STYLES[style]
    vocab, merges = _vocab_and_merges()
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in spec["specials"]])
    if spec["bos"] and spec.get("add_bos", True):
        bos = spec["bos"]
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))]
        )
    return tok


def write_tokenizer(folder: Path, style: str) -> int:
    """Write the tokenizer files into ``folder``; returns the vocabulary size (with specials)."""
    spec = STYLES[style]
    tok = build_tokenizer(style)
    tok.save(str(folder / "tokenizer.json"))
    special_map = {k + "_token": spec[k] for k in ("bos", "eos", "pad", "unk") if spec[k]}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_LENGTH,
        "clean_up_tokenization_spaces": False,
        "add_bos_token": bool(spec["bos"]) and spec.get("add_bos", True),
        "add_eos_token": False,
        "add_prefix_space": False,
        **{k + "_token": spec[k] for k in ("bos", "eos", "pad", "unk")},
    }
    if spec["chat_template"]:
        config["chat_template"] = spec["chat_template"]
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (folder / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2, sort_keys=True) + "\n")
    return tok.get_vocab_size(with_added_tokens=True)


def word_token_ids(style: str) -> list[int]:
    """Ids of the tokens a tiny model is allowed to emit: " <word>" for listed words and , . ! ?

    The other rows of its output layer are zero, so random weights still write
    space-separated words rather than byte fragments.
    """
    vocab = build_tokenizer(style).get_vocab()
    wanted = ["\u0120" + word for word in WORDS if word.isalnum()] + list(",.!?")
    return sorted(vocab[token] for token in wanted if token in vocab)


def special_ids(style: str) -> dict[str, int | None]:
    """Ids of bos/eos/pad for the LLM and generation configs."""
    spec = STYLES[style]
    tok = build_tokenizer(style)
    return {k: (tok.token_to_id(spec[k]) if spec[k] else None) for k in ("bos", "eos", "pad")}
