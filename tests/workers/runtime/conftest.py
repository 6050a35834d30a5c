"""Runtime tests run torch on one thread: the tiny models gain nothing from more, and on a shared, loaded
machine intra-op thread pools spin and make each tiny matmul dozens of times slower. ``likes``: the tiny
checkpoints shaped like each release, shared by the family, flat-layout and tiny-builder tests."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from workers.runtime import VilaModel, load_model, make_tiny


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Likes:
    """Tiny checkpoints shaped like the releases (``make_tiny(like=NAME)``), each built once per session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths: dict[str, Path] = {}

    def path(self, name: str) -> Path:
        """The folder of the tiny checkpoint shaped like ``name`` (built on first use)."""
        if name not in self.paths:
            self.paths[name] = make_tiny(self.root / name, like=name)
        return self.paths[name]

    def model(self, name: str) -> VilaModel:
        """A freshly loaded model of that checkpoint."""
        return load_model(self.path(name))


@pytest.fixture(scope="session")
def likes(tmp_path_factory: pytest.TempPathFactory) -> Likes:
    return Likes(tmp_path_factory.mktemp("likes"))
