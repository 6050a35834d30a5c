"""Runtime tests run torch on one thread: the tiny models gain nothing from more, and on a shared, loaded
machine intra-op thread pools spin and make each tiny matmul dozens of times slower."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
