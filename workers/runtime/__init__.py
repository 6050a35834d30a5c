"""VILA model runtime: load a checkpoint in the released layout and run it on frame windows.

Public API: ``load_model``, ``VilaModel``, ``ModelInfo``; ``make_tiny`` (tiny random
checkpoint) and ``default_model_path`` (the embedded default model).
"""
from workers.runtime.default import default_model_path
from workers.runtime.loader import load_model
from workers.runtime.model import ModelInfo, VilaModel
from workers.runtime.tiny import make_tiny

__all__ = ["ModelInfo", "VilaModel", "default_model_path", "load_model", "make_tiny"]
