"""``auto``: the tokenizer's own chat template (NVILA; Qwen2-style ``<|im_start|>`` turns).

The stop string is inferred as the reference code does: render a conversation
whose assistant turn is a sentinel and take the first token after it
(``<|im_end|>`` for Qwen2), plus the tokenizer's EOS token.
"""
from __future__ import annotations

from typing import Any

from workers.runtime.media import SENTINEL
from workers.runtime.templates.registry import Template, register


class AutoTemplate(Template):
    name = "auto"

    def render(self, tokenizer: Any, message: str) -> str:
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True
        )

    def stop_strings(self, tokenizer: Any) -> tuple[str, ...]:
        stops: list[str] = []
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": "hi"}, {"role": "assistant", "content": SENTINEL}],
            tokenize=False,
        )
        tail = rendered.split(SENTINEL, 1)[1] if SENTINEL in rendered else ""
        tail_ids = tokenizer(tail, add_special_tokens=False).input_ids if tail else []
        if tail_ids:
            first = tokenizer.convert_ids_to_tokens(tail_ids[0])
            if first and first.strip():
                stops.append(first)
        if tokenizer.eos_token and tokenizer.eos_token not in stops:
            stops.append(tokenizer.eos_token)
        return tuple(stops)


register(AutoTemplate())
