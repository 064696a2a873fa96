"""Two CPU "nodes" on one machine: ``zoo.fit`` under ``torchrun --nnodes 2``, metrics checked against one process.

    python -m benchmarks.multinode                                   # cgan, 20 steps, fd_digits + fid on 40 samples
    python -m benchmarks.multinode --model dcgan --steps 50 --metrics fd_digits,cis --num-samples 200

Budget: about 1-2 minutes on 2 CPU cores (two single-thread processes; FID's Inception
pass over ``--num-samples`` images dominates: roughly 5-11 images/s).

What it does:

1. Starts two ``torchrun`` agents on localhost, as two cluster nodes would be started
   (``--nnodes 2 --nproc-per-node 1 --node-rank R --master-addr 127.0.0.1 --master-port P``),
   each running ``python -m zoo.fit --model M --trainer.num_nodes 2 --trainer.devices 1
   --trainer.strategy ddp --metrics ...`` (Lightning reads torchrun's environment: world
   size 2, global ranks 0 and 1). The metrics callback evaluates once, at the last step:
   rank ``r`` generates samples ``r, r + 2, ...`` from the noise of ``seed + r``, the features
   are gathered across the two nodes, and rank 0 writes ``metrics.jsonl``.
2. In this process (no process group), loads the run's ``last.ckpt`` with ``zoo.load``,
   regenerates exactly those samples (each rank's share from its own seed, put back in
   sample order) and scores them with one single-process ``FidelityEvaluator``.
3. Prints both values per metric and their relative difference, as one JSON line; the two
   nodes' final generator state dicts (parameters and batch-norm statistics, which the
   metrics callback takes from rank 0 before it samples) are compared too
   (:class:`SaveRankGenerator`).

It prints figures; it never fails on a value or a time (the JSON says ``"agree": false``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning.pytorch as pl
import torch

REPO = Path(__file__).resolve().parents[1]


class SaveRankGenerator(pl.Callback):
    """At the end of training each rank saves its generator's state dict and the world size to
    ``directory/rank<R>.pt``, so the nodes' weights can be compared afterwards."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        state = {"generator": pl_module.generator.state_dict(), "world_size": trainer.world_size}
        torch.save(state, self.directory / f"rank{trainer.global_rank}.pt")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_command(node_rank: int, port: int, fit_flags: list[str]) -> list[str]:
    """One node's launcher: ``torchrun`` with a static two-node rendezvous on localhost."""
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
            "--node-rank", str(node_rank), "--master-addr", "127.0.0.1", "--master-port", str(port),
            "-m", "zoo.fit", *fit_flags]


def launch_two_nodes(fit_flags: list[str], cwd: Path, timeout: float) -> float:
    """Run both nodes to completion; returns the wall time. Raises with a node's stderr if one fails."""
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    nodes = [subprocess.Popen(node_command(rank, port, fit_flags), cwd=cwd, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for rank in (0, 1)]
    outputs = [node.communicate(timeout=timeout) for node in nodes]
    for rank, (node, (_, err)) in enumerate(zip(nodes, outputs)):
        if node.returncode != 0:
            raise RuntimeError(f"node {rank} exited with {node.returncode}:\n{err[-4000:]}")
    return time.perf_counter() - start


def same_samples(model, num_samples: int, batch_size: int, seed: int, world_size: int = 2):
    """The ``num_samples`` images (and labels) the metrics callback generated across ``world_size``
    ranks, in sample order: rank ``r`` drew samples ``r, r + world_size, ...`` in batches of
    ``batch_size`` after ``torch.manual_seed(seed + r)``."""
    images, labels = [None] * num_samples, [None] * num_samples
    for rank in range(world_size):
        torch.manual_seed(seed + rank)
        for chunk in torch.arange(rank, num_samples, world_size).split(batch_size):
            batch, batch_labels = model.sample_for_metrics(len(chunk))
            for j, i in enumerate(chunk.tolist()):
                images[i] = batch[j]
                labels[i] = None if batch_labels is None else batch_labels[j]
    return torch.stack(images), None if labels[0] is None else torch.stack(labels)


def single_process_values(run_dir: Path, names: list[str], num_samples: int, batch_size: int, seed: int,
                          kid_subset_size: int, real_split: str) -> dict[str, float]:
    """The metrics of the same samples, computed in this one process from the run's last checkpoint."""
    import zoo
    from datamodules import DigitsDataModule
    from zoo.metrics.fidelity import FidelityEvaluator, real_data_key

    model = zoo.load(run_dir / "checkpoints" / "last.ckpt")
    images, labels = same_samples(model, num_samples, batch_size, seed)
    position = 0

    def sample(n: int):
        nonlocal position
        batch = images[position : position + n], None if labels is None else labels[position : position + n]
        position += n
        return batch

    datamodule = DigitsDataModule()
    datamodule.setup()
    evaluator = FidelityEvaluator(names, batch_size=batch_size, device="cpu", kid_subset_size=kid_subset_size)
    real = evaluator.real_statistics(datamodule.split_dataset(real_split), real_data_key("digits", datamodule, real_split))
    values = evaluator.evaluate(sample, num_samples, real)
    return {k: v for k, v in values.items() if k not in ("num_samples", "seconds")}


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cgan", help="a registered model whose default data is the digits")
    parser.add_argument("--steps", type=int, default=20, help="training iterations (metrics at the last one)")
    parser.add_argument("--metrics", default="fd_digits,fid", help="comma-separated metric names")
    parser.add_argument("--num-samples", type=int, default=40, help="generated images per evaluation")
    parser.add_argument("--batch-size", type=int, default=10, help="the metrics' generation batch")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="relative difference still called agreement")
    parser.add_argument("--workdir", default=None, help="keep the run here (default: a temporary folder)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.metrics.split(",") if n.strip()]
    seed, real_split, kid_subset_size = 12345, "test", min(1000, args.num_samples)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="zoo-multinode-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    fit_flags = ["--model", args.model, "--trainer.num_nodes", "2", "--trainer.devices", "1",
                 "--trainer.accelerator", "cpu", "--trainer.strategy", "ddp", "--trainer.max_steps", str(args.steps),
                 "--metrics", ",".join(names), "--metrics.every_n_steps", str(args.steps),
                 "--metrics.num_samples", str(args.num_samples), "--metrics.batch_size", str(args.batch_size),
                 "--metrics.real_split", real_split, "--metrics.seed", str(seed),
                 "--metrics.kid_subset_size", str(kid_subset_size), "--runs_dir", str(workdir / "runs"),
                 "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
                 "--trainer.callbacks+=benchmarks.multinode.SaveRankGenerator",
                 f"--trainer.callbacks.directory={workdir / 'dump'}"]
    seconds = launch_two_nodes(fit_flags, workdir, timeout=1800)
    run_dir = next((workdir / "runs" / args.model).glob("*/version_0"))
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    two_nodes = records[-1]
    one_process = single_process_values(run_dir, names, args.num_samples, args.batch_size, seed, kid_subset_size,
                                        real_split)
    ranks = [torch.load(workdir / "dump" / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    identical = all(torch.equal(v, ranks[1]["generator"][k]) for k, v in ranks[0]["generator"].items())
    result = {
        "model": args.model, "steps": two_nodes["step"], "world_size": ranks[0]["world_size"],
        "num_samples": args.num_samples, "real_split": f"{real_split} ({two_nodes['real_count']} images)",
        "two_nodes": {k: two_nodes[k] for k in one_process},
        "one_process": one_process,
        "relative_difference": {k: relative(two_nodes[k], v) for k, v in one_process.items()},
        "generator_identical_on_both_nodes": identical, "launch_seconds": round(seconds, 1),
        "extractors": two_nodes["extractors"], "run_dir": str(run_dir),
    }
    result["agree"] = identical and all(d <= args.tolerance for d in result["relative_difference"].values())
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
