"""ResumableDataLoader: a new order every epoch from its own generator, and a mid-epoch state that resumes exactly."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from datamodules import DigitsDataModule
from datamodules.resumable import ResumableDataLoader


def indices(loader, batches: int | None = None) -> list[int]:
    out = []
    for i, (x,) in enumerate(loader):
        out += x.tolist()
        if batches is not None and i + 1 == batches:
            break
    return out


def test_every_epoch_has_its_own_order_and_nothing_is_drawn_from_the_global_generator():
    data = TensorDataset(torch.arange(20))
    loader = ResumableDataLoader(data, batch_size=4, drop_last=True, seed=3)
    before = torch.get_rng_state()
    first, second = indices(loader), indices(loader)
    assert torch.equal(torch.get_rng_state(), before)
    assert sorted(first) == sorted(second) == list(range(20)) and first != second
    again = ResumableDataLoader(data, batch_size=4, drop_last=True, seed=3)
    assert indices(again) == first, "the order is a function of (seed, epoch)"
    assert indices(ResumableDataLoader(data, batch_size=4, shuffle=False)) == list(range(20))


def test_a_restored_loader_serves_the_rest_of_the_epoch_then_the_next_epochs():
    data = TensorDataset(torch.arange(22))
    whole = ResumableDataLoader(data, batch_size=4, drop_last=True, seed=0)
    uninterrupted = [indices(whole) for _ in range(3)]

    stopped = ResumableDataLoader(data, batch_size=4, drop_last=True, seed=0)
    indices(stopped)  # epoch 0
    head = indices(stopped, batches=2)  # two batches of epoch 1, then the run stops
    state = stopped.state_dict()
    assert state == {"seed": 0, "epoch": 1, "batches": 2}
    resumed = ResumableDataLoader(data, batch_size=4, drop_last=True, seed=99)  # the state brings the seed
    resumed.load_state_dict(state)
    assert len(resumed) == 5, "the length stays the whole epoch's (Lightning counts the restored batches)"
    assert head + indices(resumed) == uninterrupted[1]
    assert indices(resumed) == uninterrupted[2]


def test_a_single_process_training_loader_is_resumable_and_evaluation_loaders_are_plain():
    dm = DigitsDataModule(batch_size=64)
    train = dm.train_dataloader()
    assert isinstance(train, ResumableDataLoader) and train.drop_last and len(train) == 1439 // 64
    assert not isinstance(dm.val_dataloader(), ResumableDataLoader)
