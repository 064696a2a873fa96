"""A training DataLoader that resumes mid-epoch exactly where it stopped.

Lightning saves and restores a training loader's state when the loader has
``state_dict()`` / ``load_state_dict()`` (its ``_Stateful`` protocol; the fit loop
stores it in the checkpoint under ``loops.fit_loop.state_dict.combined_loader``).
PyTorch's ``DataLoader`` has neither, so a run resumed mid-epoch used to start a
freshly shuffled epoch. :class:`ResumableDataLoader` has them:

* the order of epoch ``e`` is a permutation drawn from a generator of its own,
  seeded with ``seed + e`` (:class:`EpochSampler`), so it does not depend on
  when the epoch starts, and nothing is drawn from torch's global generator
  (the model's noise keeps its own sequence);
* the worker seeds (``base_seed``) come from a per-epoch generator too
  (``DataLoader(generator=...)``), not from the global one;
* it counts the batches it has handed out in the current epoch; its state is
  ``{"seed", "epoch", "batches"}``, and a restored loader skips the batches
  already served (indices, not images: nothing is decoded twice).

Lightning's fetcher does not prefetch from a loader with a length, so the count
is exactly the number of training steps taken in the epoch. With
``num_workers=0`` (the default) augmentations draw from the main process's
generators, which ``zoo.random_state`` restores; with workers, each worker's
augmentation stream restarts at its seed on resume, so random augmentations
after a mid-epoch resume differ (the order of the images does not).
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

__all__ = ["EpochSampler", "ResumableDataLoader"]


class EpochSampler(Sampler[int]):
    """Indices of epoch ``epoch``: a permutation from ``torch.Generator().manual_seed(seed + epoch)``
    (``shuffle=False``: in order), starting at ``start``."""

    def __init__(self, num_samples: int, shuffle: bool, seed: int) -> None:
        self.num_samples, self.shuffle, self.seed = num_samples, shuffle, seed
        self.epoch, self.start = 0, 0

    def order(self, epoch: int) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.num_samples)
        return torch.randperm(self.num_samples, generator=torch.Generator().manual_seed(self.seed + epoch))

    def __len__(self) -> int:
        """The whole epoch, also when resumed mid-epoch: Lightning adds the batches it has
        restored as already taken, and ends the epoch at this length."""
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        return iter(self.order(self.epoch)[self.start:].tolist())


class ResumableDataLoader(DataLoader):
    """A ``DataLoader`` over ``dataset`` in :class:`EpochSampler` order with Lightning's state protocol.

    Args:
        dataset: A map-style data set.
        batch_size: Samples per batch.
        shuffle: A new permutation every epoch (else the data set's order).
        drop_last: Drop the last partial batch of each epoch.
        seed: Seed of the epoch permutations; ``None`` draws one from torch's global generator
            (so ``seed_everything`` fixes it). Saved in the state.
        **kwargs: Other ``DataLoader`` arguments (``num_workers``, ``pin_memory``, ``persistent_workers``, ...).
    """

    def __init__(self, dataset: Dataset, batch_size: int, shuffle: bool = True, drop_last: bool = False,
                 seed: int | None = None, **kwargs: Any) -> None:
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (), dtype=torch.int64))
        self.epoch_sampler = EpochSampler(len(dataset), shuffle, seed)  # type: ignore[arg-type]
        super().__init__(dataset, batch_size=batch_size, sampler=self.epoch_sampler, drop_last=drop_last,
                         generator=torch.Generator().manual_seed(seed), **kwargs)
        self.batches_served = 0
        self._started = self._restored = False

    @property
    def epoch(self) -> int:
        return self.epoch_sampler.epoch

    def __iter__(self) -> Iterator[Any]:
        """One epoch. A new pass starts the next epoch (Lightning stops asking after the epoch's
        last batch, so the end of an epoch is seen here, not at ``StopIteration``), except the
        first pass after :meth:`load_state_dict`, which finishes the restored epoch."""
        sampler = self.epoch_sampler
        if self._started and not self._restored:
            sampler.epoch, sampler.start, self.batches_served = sampler.epoch + 1, 0, 0
        self._started, self._restored = True, False
        self.generator.manual_seed(sampler.seed * 1_000_003 + sampler.epoch)  # worker seeds: a function of the epoch
        for batch in super().__iter__():
            self.batches_served += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"seed": self.epoch_sampler.seed, "epoch": self.epoch_sampler.epoch, "batches": self.batches_served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        sampler = self.epoch_sampler
        sampler.seed, sampler.epoch = int(state["seed"]), int(state["epoch"])
        self.batches_served = int(state["batches"])
        sampler.start = self.batches_served * self.batch_size  # type: ignore[operator]
        self._restored = True
