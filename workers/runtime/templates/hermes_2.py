"""``hermes-2`` (VILA1.5-40b): ChatML turns with no newline after ``<|im_end|>``; stop ``<|im_end|>``."""
from __future__ import annotations

from typing import Any

from workers.runtime.templates.registry import Template, register

SYSTEM = "Answer the questions."


class Hermes2Template(Template):
    name = "hermes-2"

    def render(self, tokenizer: Any, message: str) -> str:
        return (
            f"<|im_start|>system\n{SYSTEM}<|im_end|>"
            f"<|im_start|>user\n{message}<|im_end|>"
            "<|im_start|>assistant\n"
        )

    def stop_strings(self, tokenizer: Any) -> tuple[str, ...]:
        stops = ["<|im_end|>"]
        if tokenizer.eos_token and tokenizer.eos_token not in stops:
            stops.append(tokenizer.eos_token)
        return tuple(stops)


register(Hermes2Template())
