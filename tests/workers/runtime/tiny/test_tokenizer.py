"""The byte-level BPE tokenizer of the tiny checkpoints (workers/runtime/tiny/tokenizer.py)."""
from __future__ import annotations

from transformers import AutoTokenizer

from workers.runtime.tiny.tokenizer import STYLES, build_tokenizer, special_ids, word_token_ids
from workers.runtime.tiny.vocab import WORDS


def test_tokenizer_loads_and_round_trips(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir / "llm")
    text = "A red car is moving left, 12 people walking.\nNothing else!"
    ids = tok(text).input_ids
    assert tok.decode(ids) == text
    assert len(tok(" " + " ".join(WORDS[:50])).input_ids) == 50  # listed words are single tokens
    rendered = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert rendered == "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tok.eos_token == "<|im_end|>"


def test_every_style_has_its_specials_and_emits_only_words():
    for style, spec in STYLES.items():
        tok = build_tokenizer(style)
        ids = special_ids(style)
        assert ids["eos"] == tok.token_to_id(spec["eos"]) is not None, style
        allowed = {tok.id_to_token(i) for i in word_token_ids(style)}
        assert {"\u0120red", "\u0120car", ",", "."} <= allowed and not allowed & set(spec["specials"]), style
