"""Conversation templates, looked up by name (``auto``, ``vicuna_v1``, ...).

A template turns one user message into the prompt text the LLM sees (media
placeholders already inside the message) and names the strings that end the
assistant's answer. Variants live one per module and register themselves.
"""
from __future__ import annotations

from typing import Any

# The conv-mode the reference code picks from a checkpoint path when the config
# does not name one (first match wins); anything else uses the ``auto`` template.
PATH_MAPPING: tuple[tuple[str, str], ...] = (
    ("vila1.5-3b", "vicuna_v1"),
    ("vila1.5-8b", "llama_3"),
    ("llama-3", "llama_3"),
    ("llama3", "llama_3"),
    ("vila1.5-13b", "vicuna_v1"),
    ("vila1.5-40b", "hermes-2"),
)
DEFAULT = "auto"


class Template:
    """Base template. Subclasses set ``name`` and implement :meth:`render` and :meth:`stop_strings`."""

    name = ""
    # Text between the rendered prompt and an answer; a scored label is tokenized with it.
    answer_prefix = ""

    def render(self, tokenizer: Any, message: str) -> str:
        """The full single-turn prompt for ``message``, ending where the assistant's answer starts."""
        raise NotImplementedError

    def stop_strings(self, tokenizer: Any) -> tuple[str, ...]:
        """Strings that end the answer (the first one also closes a scored answer)."""
        raise NotImplementedError


_TEMPLATES: dict[str, Template] = {}


def register(template: Template) -> Template:
    if not template.name or template.name in _TEMPLATES:
        raise ValueError(f"template name {template.name!r} is empty or registered twice")
    _TEMPLATES[template.name] = template
    return template


def get_template(name: str) -> Template:
    """The template called ``name``; KeyError when there is none."""
    return _TEMPLATES[name]


def known_templates() -> list[str]:
    return sorted(_TEMPLATES)


def template_name_for(config_value: object, model_path: str) -> str:
    """Pick the template name: a name in the config's ``chat_template`` wins, then the path mapping, then ``auto``.

    The returned name may be unregistered (e.g. ``llama_3``); the caller reports that.
    """
    if isinstance(config_value, str) and config_value:
        return config_value
    lowered = model_path.lower()
    for needle, name in PATH_MAPPING:
        if needle in lowered:
            return name
    return DEFAULT
