"""Synthetic camera scenes: seeded plans (``spec``), frames (``render``), text (``text``), datasets (``dataset``)."""
from workers.training.scenes.spec import ACTIONS, COLOURS, SHAPES, ObjectPlan, ScenePlan, plan_scene
from workers.training.scenes.render import render_frame, sample_times
from workers.training.scenes.text import caption, questions

__all__ = ["ACTIONS", "COLOURS", "SHAPES", "ObjectPlan", "ScenePlan", "plan_scene", "render_frame", "sample_times",
           "caption", "questions"]
