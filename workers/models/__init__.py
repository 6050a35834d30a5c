"""Checkpoints shipped with the package: ``tiny-synthetic-v1``, the embedded default model.

Each is a directory in the released VILA layout plus its training record
(``recipe.json``, ``training.json``, ``loss_curves.png``) and evaluation report
(``eval/``); see docs/training.md.
"""
