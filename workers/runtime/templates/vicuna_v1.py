"""``vicuna_v1`` (VILA1.5-3b, -3b-s2, -13b): ``<system> USER: <msg> ASSISTANT:``, stop ``</s>``."""
from __future__ import annotations

from typing import Any

from workers.runtime.templates.registry import Template, register

SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)


class VicunaV1Template(Template):
    name = "vicuna_v1"
    answer_prefix = " "

    def render(self, tokenizer: Any, message: str) -> str:
        return f"{SYSTEM} USER: {message} ASSISTANT:"

    def stop_strings(self, tokenizer: Any) -> tuple[str, ...]:
        stops = ["</s>"]
        if tokenizer.eos_token and tokenizer.eos_token not in stops:
            stops.append(tokenizer.eos_token)
        return tuple(stops)


register(VicunaV1Template())
