"""What this machine's kernels can do: the GFLOP/s of a large matrix product and a large convolution.

    python -m benchmarks.peak                      # float32 (and bfloat16 where the CPU has it natively)

The ceiling against which :mod:`benchmarks.speed` and ``benchmarks.fid_time --compare`` state
their achieved GFLOP/s: the best of a few timed runs of ``torch.mm`` on two 2048x2048 matrices
and of a 256 -> 256-channel 3x3 convolution on 16 maps of 35x35 (Inception's middle layers'
shape; ``channels_last``, inference mode), in the precision asked for. A multiply-add counts as
2 FLOPs, as ``torch.utils.flop_counter.FlopCounterMode`` counts them. It prints figures; it
never fails on a time.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from zoo.precision import cpu_has_native_bf16


def _best_seconds(function, repeats: int) -> float:
    function()  # warm-up: oneDNN picks its kernels
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_gflops(dtype: torch.dtype = torch.float32, size: int = 2048, repeats: int = 3, device: str = "cpu") -> float:
    """GFLOP/s of ``torch.mm`` on two ``size`` x ``size`` matrices of ``dtype`` (2·size³ FLOPs)."""
    a, b = (torch.randn(size, size, device=device).to(dtype) for _ in range(2))
    with torch.inference_mode():
        seconds = _best_seconds(lambda: _synchronised(torch.mm(a, b), device), repeats)
    return 2 * size**3 / seconds / 1e9


def convolution_gflops(dtype: torch.dtype = torch.float32, repeats: int = 3, device: str = "cpu") -> float:
    """GFLOP/s of a 256 -> 256-channel 3x3 convolution (padding 1) on 16 maps of 35x35, ``channels_last``."""
    conv = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).eval().to(device, dtype, memory_format=torch.channels_last)
    x = torch.randn(16, 256, 35, 35, device=device).to(dtype).to(memory_format=torch.channels_last)
    with torch.inference_mode():
        seconds = _best_seconds(lambda: _synchronised(conv(x), device), repeats)
    return 2 * 16 * 256 * 256 * 9 * 35 * 35 / seconds / 1e9


def _synchronised(out: torch.Tensor, device: str) -> torch.Tensor:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return out


def peak_gflops(dtype: torch.dtype = torch.float32, device: str = "cpu") -> dict[str, float]:
    """``{"matmul": ..., "convolution": ..., "peak": the larger}`` in GFLOP/s for ``dtype``."""
    found = {"matmul": matmul_gflops(dtype, device=device), "convolution": convolution_gflops(dtype, device=device)}
    return {name: round(value, 1) for name, value in found.items()} | {"peak": round(max(found.values()), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    dtypes = [torch.float32] + ([torch.bfloat16] if args.device != "cpu" or cpu_has_native_bf16() else [])
    for dtype in dtypes:
        print(json.dumps({"dtype": str(dtype).removeprefix("torch."), "device": args.device,
                          "threads": torch.get_num_threads(), **peak_gflops(dtype, args.device)}))


if __name__ == "__main__":
    main()
