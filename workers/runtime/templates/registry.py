"""Conversation templates, looked up by name (``auto``, ``vicuna_v1``, ...).

A template turns one user message into the prompt text the LLM sees (media
placeholders already inside the message) and names the strings that end the
assistant's answer. Variants live one per module and register themselves.
"""
from __future__ import annotations

from typing import Any

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


def template_name_for(config_value: object, family_default: str) -> str:
    """Pick the template name: a name in the config's ``chat_template`` wins, else the family's default.

    The reference also guesses from the checkpoint's directory name; the runtime
    does not (the family, read from the config, already fixes the template).
    The returned name may be unregistered; the caller reports that.
    """
    if isinstance(config_value, str) and config_value and "{" not in config_value:  # a name, not Jinja
        return config_value
    return family_default or DEFAULT
