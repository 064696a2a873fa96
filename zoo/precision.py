"""The precision ``python -m zoo.fit`` trains in when ``--trainer.precision`` is not given."""

from __future__ import annotations

import torch


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX), so oneDNN's bf16
    convolutions are faster than float32 ones rather than emulated."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def gpu_has_native_bf16() -> bool:
    """Whether the CUDA GPU in use multiplies bfloat16 in its tensor cores: compute capability 8.0 or
    newer (Ampere: A100, RTX 30xx; Hopper: H100; ...). False without CUDA."""
    return torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 0)


def explain_default_precision(accelerator: str = "auto") -> tuple[str, str]:
    """``(precision, why)``: the ``--trainer.precision`` a run on ``accelerator`` gets when the flag is
    not given (see :func:`default_precision`) and the reason, as ``zoo.fit``'s start line says it."""
    cuda = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if cuda:
        if gpu_has_native_bf16():
            major, minor = torch.cuda.get_device_capability()
            return "bf16-mixed", f"the GPU has bf16 tensor cores (compute capability {major}.{minor} >= 8.0)"
        return "32-true", "the GPU has no bf16 tensor cores (compute capability < 8.0; 16-mixed is yours to choose)"
    if accelerator not in ("auto", "cpu") or (accelerator == "auto" and torch.backends.mps.is_available()):
        return "32-true", f"float32 on accelerator {accelerator!r}"
    if cpu_has_native_bf16():
        return "bf16-mixed", "the CPU multiplies bfloat16 in hardware (AVX512-BF16 / AMX)"
    return "32-true", "the CPU has no native bfloat16 (it would be emulated, and slower)"


def default_precision(accelerator: str = "auto") -> str:
    """The ``--trainer.precision`` a run gets when the flag is not given.

    ``"bf16-mixed"`` where bfloat16 runs in hardware: on a CUDA GPU of compute capability 8.0 or
    newer (:func:`gpu_has_native_bf16`) and on a CPU with native bf16 (:func:`cpu_has_native_bf16`).
    Autocast runs convolutions and matrix products in bfloat16 and keeps weights, optimizer state
    and losses in float32 (the CPU speed-up is measured in docs/models/dcgan.md).
    ``"32-true"`` otherwise: older GPUs (choose ``16-mixed`` there yourself), MPS, and CPUs
    without native bf16. :func:`explain_default_precision` gives the reason too.
    """
    return explain_default_precision(accelerator)[0]
