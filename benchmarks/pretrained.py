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

The recipes and their figures are in :mod:`benchmarks.pretrained_recipes`, the sizes,
cold starts and the docs table in :mod:`benchmarks.pretrained_report`; this module
trains, writes the files and their declarations, and re-exports both.
"""

from __future__ import annotations

import argparse
import inspect
import json
import pprint
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torchvision.utils import save_image

import zoo
from benchmarks.pretrained_recipes import (  # re-exported: the recipes, their bars and figures
    RECIPES,
    Recipe,
    acceptance,
    better,
    passes,
    ring_scores,
    rounded,
    translation_scores,
)
from benchmarks.pretrained_report import (  # re-exported: sizes, cold starts, the docs table
    DOCS,
    cold_start_seconds,
    docs_table,
    measure,
    wheel_bytes,
    write_docs,
)
from zoo.fit import main as fit_main
from zoo.models.progan import ProGAN
from zoo.registry import MODELS
from zoo.weights import PACKAGED_DIR, PROTOCOLS, read_packaged, save_packaged

REPO = Path(__file__).resolve().parents[1]
GRIDS = REPO / "docs" / "images" / "pretrained"


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
    """The ``packaged_weights(...)`` entry to paste into ``zoo/models/<model>.py`` (``zoo.weights.packaged_weights``
    fills in the file name, the protocol's text, the command, the source and the licence)."""
    def field(key: str, value) -> str:
        text = pprint.pformat(value, width=100 - 9 - len(key), sort_dicts=False)
        return f"        {key}=" + text.replace("\n", "\n" + " " * (9 + len(key))) + ","

    lines = [f"    packaged_weights(\n        {recipe.model!r}, {recipe.name!r}, sha256={sha256!r},",
             field("kwargs", kwargs), field("direction", recipe.makes), field("metrics", metrics)]
    extra = [f"protocol={recipe.protocol!r}"] if recipe.protocol != "digits" else []
    extra += [f"data={data!r}"] if data != f"{recipe.name} (embedded)" else []
    extra += [f"resolution={resolution!r}"] if resolution != 32 else []
    if extra:
        lines.append("        " + ", ".join(extra) + ",")
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
        grown = trained.trained_resolution if isinstance(trained, ProGAN) else None  # the resolution it grew to
        resolution = grown or (int(shape[-1]) if shape and len(shape) == 3 else None)
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


def check(tags: list[str]) -> bool:
    """Measure the packaged files of ``tags`` again, writing nothing, and compare with their declarations:
    one JSON line each and a last line saying whether every figure is the same to the 3rd decimal (a
    refactoring of the models must not move them)."""
    same_everywhere = True
    for tag in tags:
        start = time.perf_counter()
        measured = rounded(acceptance(tag, zoo.load(tag)))
        declared = dict(zoo.get_weights(tag).metrics)
        differ = {k: [v, measured.get(k)] for k, v in declared.items()
                  if measured.get(k) is None or round(measured[k], 3) != round(v, 3)}
        same_everywhere &= not differ
        print(json.dumps({"tag": tag, "measured": measured, "differ_at_3_decimals": differ,
                          "seconds": round(time.perf_counter() - start, 1)}), flush=True)
    print("every figure as declared (3 decimals)" if same_everywhere else "figures differ from the declarations")
    return same_everywhere


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
    parser.add_argument("--check", action="store_true",
                        help="measure the packaged files (of --model, default all) again, write nothing, and compare "
                             "with their declared figures; exit 1 if any differs at the 3rd decimal")
    args = parser.parse_args()
    if args.measure:
        measure()
        return
    if args.check:
        wanted = {m.strip() for m in (args.model or "all").split(",")}
        raise SystemExit(0 if check([t for t, r in RECIPES.items() if "all" in wanted or r.model in wanted]) else 1)
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
