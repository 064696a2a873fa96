"""benchmarks.speed's FLOP count, benchmarks.peak and benchmarks.gpu: the figures behind "fraction of peak"."""

from __future__ import annotations

import pytest
import torch

import zoo

from benchmarks.peak import convolution_gflops, matmul_gflops
from benchmarks.speed import flop_counter, markdown

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_flop_count_is_forward_and_backward_and_survives_a_gradient_penalty():
    layer = torch.nn.Linear(32, 16)
    x = torch.randn(8, 32, requires_grad=True)
    with flop_counter() as counter:
        out = layer(x)
        (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)  # R1's autograd.grad
        (out.sum() + grad.pow(2).sum()).backward()
    forward = 2 * 8 * 32 * 16  # a multiply-add is 2 FLOPs
    # forward; autograd.grad: the input gradient (1 product); backward of that and of the forward (3 more)
    assert counter.get_total_flops() == 5 * forward


def test_the_peaks_are_positive_and_bounded():
    assert 0 < matmul_gflops(size=256, repeats=1) < 1e5
    assert 0 < convolution_gflops(repeats=1) < 1e5


def test_the_table_has_a_row_per_model():
    row = {"model": "dcgan", "data": "DigitsDataModule", "batch_size": 64, "image_shape": [1, 32, 32],
           "ms_per_batch": 100.0, "gflop_per_batch": 2.0, "gflops_per_second": 20.0, "peak_gflops_per_second": 80.0,
           "fraction_of_peak": 0.25}
    table = markdown([row, row | {"model": "cgan"}]).splitlines()
    assert len(table) == 4 and table[2].startswith("| dcgan | DigitsDataModule 32x32, 64 | 100.0 |")
    assert table[2].endswith("| 25.0% |")


def test_the_gpu_benchmark_runs_its_code_path_on_the_cpu(tmp_path):
    """`python -m benchmarks.gpu --device cpu --budget-seconds 5`: every section measures at least once."""
    from benchmarks.gpu import SETTINGS, main

    report = main(["--device", "cpu", "--budget-seconds", "5", "--out", str(tmp_path)])
    measured = [r for r in report["throughput"] if "ms_per_batch" in r]
    assert measured and measured[0]["setting"] == "float32" and measured[0]["images_per_second"] > 0
    assert 0 < measured[0]["fraction_of_peak"] < 1.5
    assert {r["setting"] for r in report["throughput"]} == set(SETTINGS)  # the rest recorded as skipped
    assert len(report["throughput"]) == len(SETTINGS) * len(zoo.list_models())
    assert report["overhead"][0]["ratio"] > 0 and "skipped" in report["cifar10"]
    assert report["environment"]["device"] == "cpu" and report["environment"]["torch"] == torch.__version__
    table = (tmp_path / "gpu.md").read_text()
    assert "| acgan | float32 |" in table and "Lightning ms" in table
