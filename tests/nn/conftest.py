"""Fixtures shared by the network tests."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def _one_thread():
    # Tiny networks on a shared 2-core machine: more intra-op threads only oversubscribe the cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
