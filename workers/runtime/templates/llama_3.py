"""``llama_3`` (Llama-3-VILA1.5-8B): Llama-3 header turns with VILA's system prompt; stop ``<|eot_id|>``.

The prompt starts with a literal ``<|begin_of_text|>``; a tokenizer that also adds
BOS gives two, as the reference code does (kept on purpose, see docs/decisions.md).
"""
from __future__ import annotations

from typing import Any

from workers.runtime.templates.registry import Template, register

SYSTEM = (
    "You are a helpful language and vision assistant. You are able to understand the visual content that the "
    "user provides, and assist the user with a variety of tasks using natural language."
)


class Llama3Template(Template):
    name = "llama_3"

    def render(self, tokenizer: Any, message: str) -> str:
        return (
            f"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{SYSTEM}<|eot_id|>"
            f"<|start_header_id|>user<|end_header_id|>\n\n{message}<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n"
        )

    def stop_strings(self, tokenizer: Any) -> tuple[str, ...]:
        # sep is <|eot_id|>, sep2 <|end_of_text|>.
        stops = ["<|eot_id|>", "<|end_of_text|>"]
        if tokenizer.eos_token and tokenizer.eos_token not in stops:
            stops.append(tokenizer.eos_token)
        return tuple(stops)


register(Llama3Template())
