"""The SentencePiece tokenizer of the VILA1.5-shaped tiny checkpoints (workers/runtime/tiny/spm.py)."""
from __future__ import annotations

import sentencepiece as spm
from transformers import AutoTokenizer

from workers.runtime.tiny.spm import model_bytes, spm_special_ids, spm_word_ids, train_model, write_spm_tokenizer


def test_llama2_behaviour_where_the_runtime_cares(tmp_path):
    size = write_spm_tokenizer(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    assert len(tok) == size
    assert tok.convert_ids_to_tokens(tok("\n").input_ids) == ["<s>", "\u2581", "<0x0A>"]
    assert (tok.bos_token_id, tok.eos_token_id) == (spm_special_ids()["bos"], spm_special_ids()["eos"]) == (1, 2)
    text = "a red car is moving left 12"
    assert tok.decode(tok(text).input_ids, skip_special_tokens=True) == text


def test_word_ids_are_whole_words_and_the_model_is_deterministic():
    processor = spm.SentencePieceProcessor(model_proto=model_bytes())
    pieces = {processor.id_to_piece(i) for i in spm_word_ids()}
    assert {"\u2581red", "\u2581car", "\u2581moving", ","} <= pieces
    assert all(p.startswith("\u2581") or p in ",.!?" for p in pieces)
    assert train_model() == model_bytes()  # a second training gives the same bytes
