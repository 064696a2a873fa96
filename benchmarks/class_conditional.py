"""Acceptance figures of the digits models (the class-conditional family, DCGAN, ProGAN).

    python -m benchmarks.class_conditional                  # all six models
    python -m benchmarks.class_conditional --models acgan --steps 2000
    python -m benchmarks.class_conditional --models dcgan --steps 100000 --budget-seconds 900  # equal wall time

Budget: at most 5 minutes of training per model on 2 CPU cores (default
flags, default steps below); evaluation adds about 10 s per model. Each model
is trained from its registry defaults (``zoo.create_model(name)`` plus the
``model.*`` flags of its embedded ``recipe``, as ``zoo.fit`` does) on
``DigitsDataModule`` (with the recipe's ``data.*`` flags, if any) with seed
0, in the precision ``zoo.fit`` picks on this machine
(``zoo.fit.default_precision("cpu")``: ``bf16-mixed`` on a CPU with native
bf16, else ``32-true``; the JSON line names it), then judged by the shipped
digits classifier (``zoo.metrics.domain``):

* ``cgan``, ``acgan``, ``biggan`` (and ``progan`` with ``conditional``): conditional accuracy of 1000 samples (100 per class);
* ``infogan``: code accuracy of 1000 samples (categorical code vs. the class
  the classifier sees, Hungarian-matched), and for each continuous code the
  Spearman correlation of its value with two image statistics (slant and
  stroke width) over a sweep -- "changes one factor" made measurable;
* ``sgan``: test accuracy of the exported classifier (see also
  ``benchmarks.sgan_baseline`` for the supervised comparison);
* ``dcgan``, ``progan``, ``biggan``: the share of each class among 1000 samples as the
  classifier reads them (``min_class_share``: 0 for a dropped mode; a conditional
  model samples uniform labels);
  ``progan`` also reports the resolution and alpha reached, the images shown
  (``kimg``), and the step and wall time at which each phase ended (with
  ``--grids``, a grid per phase: ``progan_digits_phase<i>_<res>px.png``);
* every image model: FD-digits of 179 generated images against the 1439
  training digits (mean of 5 draws) next to the real-vs-real floor at the same
  sizes, FD(179 test digits, 1439 training digits).

``--hparams`` / ``--data-hparams`` (JSON dicts) override constructor
arguments of the model / the DigitsDataModule, for tuning runs. ``--fd-every
N`` also prints FD-digits (mean of 3 draws of 179 samples) every N
iterations (and, for a model with a generator EMA, the raw G's as
``fd_raw_g``), the learning curves of the tuning tables in docs/models/*.md;
the evaluation time is counted neither in ``train_seconds`` nor in the budget. ``--budget-seconds S``
stops each model after S seconds of training (``steps`` then reports the
iterations it reached), to compare models at equal wall time.

It prints one JSON line per model; it never fails on a figure or a time.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
from scipy.stats import spearmanr
from torchvision.utils import save_image

import zoo
from zoo.registry import MODELS
from datamodules import DigitsDataModule
from zoo.fit import default_precision
from zoo.metrics.domain import (
    class_shares,
    code_accuracy_of_samples,
    conditional_accuracy,
    digit_features,
    fd_digits,
    frechet_distance,
)

DEFAULT_STEPS = {"cgan": None, "acgan": None, "dcgan": None, "infogan": None, "sgan": 1000, "progan": None}
"""Training iterations per model. ``None``: the ``--trainer.max_steps`` of the model's embedded recipe, so the
benchmark trains what ``zoo.fit --model NAME`` trains (cgan, acgan, infogan 3000: about 200 s each; dcgan 4000:
270 s, on 2 CPU cores in bf16-mixed). SGAN's 1000 matches ``benchmarks.sgan_baseline`` (``zoo.fit`` runs 2000)."""

FD_SAMPLE = 179  # the size of the digits' test split, so the floor is measured at the same size


def embedded_recipe(name: str, section: str) -> dict:
    """The ``section.*`` flags (``model`` or ``trainer``) that ``zoo.fit --model NAME`` adds on the embedded digits."""
    zoo.get_model_class(name)  # registers the built-in models
    recipe = MODELS.entry(name).recipe
    return {key.split(".", 1)[1]: value for key, value in recipe.items() if key.startswith(section + ".")}


def default_steps(name: str) -> int:
    """The benchmark's iteration count for model ``name`` (see :data:`DEFAULT_STEPS`)."""
    return DEFAULT_STEPS[name] or embedded_recipe(name, "trainer")["max_steps"]


def all_images(dm: DigitsDataModule, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image and label of a split, as two tensors."""
    dataset = dm.split_dataset(split)
    images, labels = zip(*dataset.__getitems__(range(len(dataset))))
    return torch.stack(images), torch.stack(labels)


def slant_and_width(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: slant (xy / yy second moment of the ink) and the mean ink (a stroke-width proxy)."""
    ink = (images[:, 0] + 1) / 2  # (N, H, W) in [0, 1]
    h, w = ink.shape[-2:]
    ys = torch.arange(h, dtype=ink.dtype).view(1, h, 1)
    xs = torch.arange(w, dtype=ink.dtype).view(1, 1, w)
    mass = ink.sum((1, 2)).clamp_min(1e-6)
    cy = (ink * ys).sum((1, 2)) / mass
    cx = (ink * xs).sum((1, 2)) / mass
    dy, dx = ys - cy.view(-1, 1, 1), xs - cx.view(-1, 1, 1)
    slant = (ink * dx * dy).sum((1, 2)) / (ink * dy * dy).sum((1, 2)).clamp_min(1e-6)
    return slant, mass / (h * w)


def infogan_sweeps(model, steps: int = 9, rows: int = 50) -> dict[str, list[float]]:
    """|Spearman ρ| of each continuous code with slant and ink mass over a sweep in [-2, 2]."""
    generator = torch.Generator().manual_seed(1)
    out: dict[str, list[float]] = {"slant": [], "ink": []}
    values = torch.linspace(-2, 2, steps)
    for k in range(model.hparams.continuous_dim):
        noise = torch.randn(rows, model.hparams.noise_dim, generator=generator).repeat_interleave(steps, 0)
        cats = torch.stack([torch.randint(d, (rows,), generator=generator) for d in model.categorical_dims], 1)
        cont = torch.rand(rows, model.hparams.continuous_dim, generator=generator).mul(2).sub(1)
        cont = cont.repeat_interleave(steps, 0)
        cont[:, k] = values.repeat(rows)
        images = model.sample(rows * steps, codes={"categorical": cats.repeat_interleave(steps, 0), "continuous": cont},
                              noise=noise)
        slant, ink = slant_and_width(images)
        code = cont[:, k].numpy()
        out["slant"].append(abs(spearmanr(code, slant.numpy()).statistic))
        out["ink"].append(abs(spearmanr(code, ink.numpy()).statistic))
    return out


class WallClockBudget(pl.Callback):
    """Stop training once ``seconds`` of wall time have passed (for comparisons at equal time), not
    counting the ``probe``'s own time (an :class:`FDCurve`)."""

    def __init__(self, seconds: float, probe: "FDCurve | None" = None) -> None:
        self.seconds, self.probe, self.start = seconds, probe, None

    def on_train_start(self, trainer, model) -> None:
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, model, *args) -> None:
        probing = self.probe.seconds if self.probe is not None else 0.0
        if time.perf_counter() - self.start - probing >= self.seconds:
            trainer.should_stop = True


class FDCurve(pl.Callback):
    """Print ``{"step": k, "fd": ...}`` every ``every`` iterations; keeps its own time out of the run's."""

    def __init__(self, every: int, train_images: torch.Tensor) -> None:
        self.every, self.train_images, self.seconds = every, train_images, 0.0
        self._last: int | None = None  # with n_critic > 1 several batches share a step

    def on_train_batch_end(self, trainer, model, *args) -> None:
        step = trainer.global_step
        if step % self.every or step == self._last:
            return
        start, self._last = time.perf_counter(), step
        rng = torch.random.get_rng_state()  # the run itself must not depend on the probe
        point = {"model": type(model).__name__.lower(), "step": step, "fd": round(self.fd(model.sample), 1)}
        if model.sampling_generator is not model.generator:  # the raw G too: is the EMA helping yet?
            point["fd_raw_g"] = round(self.fd(functools.partial(raw_samples, model)), 1)
        torch.random.set_rng_state(rng)
        print(json.dumps(point), flush=True)
        self.seconds += time.perf_counter() - start

    def fd(self, sample) -> float:
        torch.manual_seed(123)
        return sum(fd_digits(self.train_images, sample(FD_SAMPLE)) for _ in range(3)) / 3


@torch.no_grad()
def raw_samples(model, n: int) -> torch.Tensor:
    """``n`` samples of the raw generator (not the EMA one ``model.sample`` uses), made as ``sample`` makes them."""
    was_training = model.generator.training
    model.generator.eval()
    try:
        return model.generate(model.generator, model.noise(n), **model.sample_inputs(n))
    finally:
        model.generator.train(was_training)


class PhaseLog(pl.Callback):
    """ProGAN: when each phase of the schedule ends, the step, the wall time and (with ``grids``) a grid
    ``progan_digits_phase<i>_<res>px.png`` of the EMA generator at that resolution."""

    def __init__(self, grids: Path | None = None) -> None:
        self.grids, self.start, self.phases = grids, 0.0, []

    def on_train_start(self, trainer, model) -> None:
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, model, *args) -> None:
        if not model.grid_requested():
            return
        finished = model.schedule.phases[model.level()[2].index - 1]
        what = "fade" if finished.fading else "stabilize"
        self.phases.append({"phase": finished.index, "resolution": finished.resolution, "kind": what,
                            "step": trainer.global_step, "seconds": round(time.perf_counter() - self.start, 1)})
        if self.grids is not None:
            self.grids.mkdir(parents=True, exist_ok=True)
            images, nrow = model.sample_grid()
            save_image(images, self.grids / f"progan_digits_phase{finished.index}_{finished.resolution}px.png",
                       nrow=nrow, normalize=True, value_range=(-1, 1))


@functools.lru_cache(maxsize=4)
def real_digits(image_size: int = 32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The embedded digits' test images and labels, and the training images' classifier features
    (computed once per process: every FD-digits below compares with them)."""
    dm = DigitsDataModule(image_size=image_size)
    train_x, _ = all_images(dm, "train")
    test_x, test_y = all_images(dm, "test")
    return test_x, test_y, digit_features(train_x)


def evaluate(name: str, model, dm: DigitsDataModule) -> dict:
    """The acceptance figures of ``model`` (module docstring); FD-digits as ``fd_digits(train, samples)``,
    with the training digits' features computed once."""
    model.eval()
    torch.manual_seed(123)
    test_x, test_y, train_features = real_digits(dm.hparams.image_size)
    result: dict = {"fd_floor": frechet_distance(train_features, digit_features(test_x))}
    if name == "sgan":
        result["test_accuracy"] = float((model.classify(test_x).argmax(1) == test_y).float().mean())
    fds = [frechet_distance(train_features, digit_features(model.sample(FD_SAMPLE))) for _ in range(5)]
    result["fd"] = sum(fds) / len(fds)
    result["fd_ratio"] = result["fd"] / result["fd_floor"]
    if name in ("cgan", "acgan", "biggan") or (name == "progan" and model.hparams.conditional):
        labels = torch.arange(10).repeat_interleave(100)
        result["conditional_accuracy"] = conditional_accuracy(model.sample(1000, labels=labels), labels)
    if name in ("dcgan", "progan", "biggan"):  # does every class appear? (share of 1000 samples; uniform labels if conditional)
        shares = class_shares(model.sample_for_metrics(1000)[0])
        result["class_shares"] = [round(float(v), 3) for v in shares]
        result["min_class_share"] = float(shares.min())
    if name == "infogan":
        codes = torch.arange(model.categorical_dims[0]).repeat_interleave(100)
        images = model.sample(len(codes), codes={"categorical": codes})
        result["code_accuracy"] = code_accuracy_of_samples(images, codes)
        result["sweep_spearman"] = infogan_sweeps(model)
    return result


def save_grids(model, name: str, directory: Path) -> None:
    """The model's progress grid (and extra grids, e.g. InfoGAN's sweeps) as ``<name>[_<grid>].png``."""
    directory.mkdir(parents=True, exist_ok=True)
    grids = {("" if key == "samples" else f"_{key}"): value for key, value in model.progress_grids().items()}
    for suffix, (images, nrow) in grids.items():
        save_image(images, directory / f"{name}_digits{suffix}.png", nrow=nrow, normalize=True, value_range=(-1, 1))


def run(name: str, steps: int, seed: int = 0, grids: Path | None = None, fd_every: int | None = None,
        data_hparams: dict | None = None, budget_seconds: float | None = None, **hparams) -> dict:
    pl.seed_everything(seed, verbose=False)
    dm = DigitsDataModule(**{**embedded_recipe(name, "data"), **(data_hparams or {})})
    recipe = embedded_recipe(name, "model")
    model = zoo.create_model(name, image_shape=dm.image_shape, num_classes=dm.num_classes, **{**recipe, **hparams})
    curve = FDCurve(fd_every, all_images(dm, "train")[0]) if fd_every else None
    phases = PhaseLog(grids) if name == "progan" else None
    callbacks = [c for c in (curve, phases, WallClockBudget(budget_seconds, curve) if budget_seconds else None) if c]
    precision = default_precision("cpu")  # what `zoo.fit` picks on this machine
    trainer = pl.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0,
                         accelerator="cpu", precision=precision, callbacks=callbacks)
    start = time.perf_counter()
    trainer.fit(model, datamodule=dm)
    seconds = time.perf_counter() - start - (curve.seconds if curve else 0.0)
    result = {"model": name, "steps": trainer.global_step, "precision": precision, "train_seconds": round(seconds, 1),
              "batch_size": dm.batch_size, **({"hparams": hparams} if hparams else {})}
    if phases is not None:
        resolution, alpha, _ = model.level()
        result.update(resolution=resolution, alpha=round(alpha, 3), kimg=round(float(model.images_seen) / 1000, 1),
                      phases=phases.phases)
    result.update(evaluate(name, model, dm))
    if grids is not None:
        save_grids(model, name, grids)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(DEFAULT_STEPS), help="comma-separated model names")
    parser.add_argument("--steps", type=int, default=None, help="override every model's iteration count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hparams", default="{}", help="JSON dict of constructor overrides (for tuning)")
    parser.add_argument("--data-hparams", default="{}", help="JSON dict of DigitsDataModule overrides")
    parser.add_argument("--grids", type=Path, default=None, help="write each model's sample grid PNGs here")
    parser.add_argument("--fd-every", type=int, default=None, help="also print FD-digits every N iterations")
    parser.add_argument("--budget-seconds", type=float, default=None,
                        help="stop each model after this much training wall time (e.g. DCGAN at ProGAN's time)")
    args = parser.parse_args()
    hparams = json.loads(args.hparams)
    for name in args.models.split(","):
        result = run(name, args.steps or default_steps(name), args.seed, args.grids, args.fd_every,
                     json.loads(args.data_hparams), args.budget_seconds, **hparams)
        print(json.dumps(result, default=float), flush=True)


if __name__ == "__main__":
    main()
