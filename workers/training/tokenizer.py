"""A small byte-level BPE tokenizer trained with ``tokenizers`` on the recipe's own text.

Every word of the captions, questions, answers and runtime prompts ends up a
single token (the corpus is tiny and each word frequent), while any other text
still round-trips through the 256 byte symbols. It carries a ChatML chat
template (one ``<|im_start|>role ... <|im_end|>`` turn per message, no system
turn, so prompts stay short) and the media tokens as special tokens, so the
runtime's ``add_media_tokens`` finds them instead of growing the embeddings.

``write_tokenizer(folder, texts)`` saves ``tokenizer.json``,
``tokenizer_config.json`` and ``special_tokens_map.json``; ``AutoTokenizer``
loads the folder.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

from workers.runtime.media import MEDIA_TOKENS

PAD, BOS_EOS, START, END = "<|endoftext|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIALS = [PAD, START, END, *MEDIA_TOKENS]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
ROLES = ("user", "assistant", "system")
MAX_LENGTH = 1024


def build_tokenizer(texts: Iterable[str]) -> Tokenizer:
    """Train the BPE on ``texts`` (plus the chat roles) until every word is one token.

    Deterministic for the same texts in the same order.
    """
    corpus = [*texts, *ROLES, "\n"]
    words = {w for text in corpus for w in text.split()}
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # Room for every word bare and after a space: BPE stops early once nothing repeats.
    size = 256 + len(SPECIALS) + 12 * len(words)
    trainer = trainers.BpeTrainer(vocab_size=size, min_frequency=1, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    # Repeat the corpus so merge counts favour whole words over cross-word pieces.
    tok.train_from_iterator(corpus * 4, trainer=trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    return tok


def write_tokenizer(folder: Path, texts: Iterable[str]) -> int:
    """Write the tokenizer files into ``folder``; returns the vocabulary size (with specials)."""
    folder.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(texts)
    tok.save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": MAX_LENGTH,
        "clean_up_tokenization_spaces": False, "add_bos_token": False, "add_eos_token": False,
        "add_prefix_space": False, "bos_token": None, "eos_token": END, "pad_token": PAD, "unk_token": None,
        "chat_template": CHAT_TEMPLATE,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (folder / "special_tokens_map.json").write_text(
        json.dumps({"eos_token": END, "pad_token": PAD}, indent=2, sort_keys=True) + "\n")
    return tok.get_vocab_size(with_added_tokens=True)


def special_id(folder: Path, token: str) -> int:
    """Id of a special token in the tokenizer saved in ``folder``."""
    return Tokenizer.from_file(str(folder / "tokenizer.json")).token_to_id(token)
