"""Fixtures shared by the model tests."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def _one_thread():
    # Tiny networks: on a shared 2-core machine intra-op threads only oversubscribe the
    # cores (measured: ~0.2 s per iteration with 2 threads under load, ~0.03 s with 1).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
