"""The recipe's tokenizer: built with ``tokenizers``, loaded by ``AutoTokenizer``, one token per word."""
from __future__ import annotations

from transformers import AutoTokenizer

from workers.runtime.media import MEDIA_TOKENS
from workers.training.scenes.text import vocabulary
from workers.training.tokenizer import write_tokenizer
from workers.training.trainer import corpus


def test_auto_tokenizer_loads_it_with_a_chat_template(tmp_path):
    size = write_tokenizer(tmp_path, corpus())
    tok = AutoTokenizer.from_pretrained(tmp_path)
    assert len(tok) == size
    for word in vocabulary():
        assert len(tok(" " + word, add_special_tokens=False).input_ids) == 1, word
        assert len(tok(word, add_special_tokens=False).input_ids) == 1, word
    text = "a red circle moves left and a blue square stays still"
    assert tok.decode(tok(text).input_ids) == text
    assert tok.decode(tok("Zebras: 42!").input_ids) == "Zebras: 42!"  # bytes cover anything
    rendered = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                       add_generation_prompt=True)
    assert rendered == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert all(tok.convert_tokens_to_ids(t) is not None and t in tok.get_vocab() for t in MEDIA_TOKENS)
    assert len(tok("\n").input_ids) == 1


def test_same_corpus_same_tokenizer(tmp_path):
    write_tokenizer(tmp_path / "a", corpus())
    write_tokenizer(tmp_path / "b", corpus())
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (tmp_path / "b" / "tokenizer.json").read_bytes()
