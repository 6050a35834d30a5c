"""Conversation templates; see ``registry``."""
from workers.runtime.templates import auto, hermes_2, llama_3, vicuna_v1  # noqa: F401  (registration)
from workers.runtime.templates.registry import (
    Template,
    get_template,
    known_templates,
    register,
    template_name_for,
)

__all__ = ["Template", "get_template", "known_templates", "register", "template_name_for"]
