"""The precision ``python -m zoo.fit`` trains in when ``--trainer.precision`` is not given."""

from __future__ import annotations

import torch


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX), so oneDNN's bf16
    convolutions are faster than float32 ones rather than emulated."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def default_precision(accelerator: str = "auto") -> str:
    """The ``--trainer.precision`` a run gets when the flag is not given.

    ``"bf16-mixed"`` when training runs on a CPU with native bf16 (:func:`cpu_has_native_bf16`):
    autocast runs convolutions and matrix products in bfloat16 and keeps weights, optimizer
    state and losses in float32 (the speed-up is measured in docs/models/dcgan.md).
    ``"32-true"`` otherwise, GPUs included (choose ``bf16-mixed`` or
    ``16-mixed`` there yourself).
    """
    if accelerator not in ("auto", "cpu"):
        return "32-true"
    gpu_available = torch.cuda.is_available() or torch.backends.mps.is_available()
    on_cpu = accelerator == "cpu" or not gpu_available
    return "bf16-mixed" if on_cpu and cpu_has_native_bf16() else "32-true"
