"""ProGAN's schedule: resolution and fade-in α as functions of the real images shown (the paper's kimg clock).

Karras et al. 2018, §2 and the reference's ``TrainingSchedule`` (``train.py``): 4x4 for
``stabilize_kimg``, then for each higher resolution a fade-in of ``fade_kimg`` (α 0 -> 1) and a
stabilisation of ``stabilize_kimg``; the last phase lasts until training stops. Plain Python: the
module :mod:`zoo.models.progan` trains by it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zoo.nn.progan import resolutions


@dataclass(frozen=True)
class Phase:
    """One phase of the schedule: ``resolution`` stabilised or faded in over [start, end) kimg."""

    index: int
    resolution: int
    fading: bool
    start_kimg: float
    end_kimg: float  # math.inf for the last phase


class ProgressiveSchedule:
    """Resolution and fade-in α as functions of the real images shown (the paper's kimg clock).

    Args:
        max_resolution: the final resolution (a power of two >= 4).
        stabilize_kimg: thousands of images per stabilisation phase (600 in the paper).
        fade_kimg: thousands of images per fade-in phase (600 in the paper).
    """

    def __init__(self, max_resolution: int, stabilize_kimg: float, fade_kimg: float) -> None:
        if stabilize_kimg <= 0 or fade_kimg < 0:
            raise ValueError(f"stabilize_kimg must be > 0 and fade_kimg >= 0, got {stabilize_kimg}, {fade_kimg}")
        self.resolutions = resolutions(max_resolution)
        phases, start = [Phase(0, 4, False, 0.0, float(stabilize_kimg))], float(stabilize_kimg)
        for r in self.resolutions[1:]:
            if fade_kimg > 0:
                phases.append(Phase(len(phases), r, True, start, start + fade_kimg))
                start += fade_kimg
            phases.append(Phase(len(phases), r, False, start, start + stabilize_kimg))
            start += stabilize_kimg
        last = phases[-1]
        phases[-1] = Phase(last.index, last.resolution, False, last.start_kimg, math.inf)
        self.phases = phases

    @property
    def growth_kimg(self) -> float:
        """kimg at which the final resolution is reached with α = 1."""
        return self.phases[-1].start_kimg

    def phase(self, kimg: float) -> Phase:
        return next(p for p in self.phases if kimg < p.end_kimg)

    def at(self, kimg: float) -> tuple[int, float, Phase]:
        """``(resolution, alpha, phase)`` after ``kimg`` thousand real images."""
        phase = self.phase(kimg)
        if not phase.fading:
            return phase.resolution, 1.0, phase
        return phase.resolution, (kimg - phase.start_kimg) / (phase.end_kimg - phase.start_kimg), phase

    def table(self, batch_sizes: dict[int, int] | None = None) -> str:
        """The schedule as a text table (printed when training starts)."""
        rows = ["phase  resolution  what           kimg from -> to   batch"]
        for p in self.phases:
            end = "..." if math.isinf(p.end_kimg) else f"{p.end_kimg:g}"
            batch = (batch_sizes or {}).get(p.resolution, "data")
            what = "fade in (α 0->1)" if p.fading else "stabilize"
            rows.append(f"{p.index:>5}  {p.resolution:>4}x{p.resolution:<5}  {what:<16} {p.start_kimg:>7g} -> {end:<7} {batch}")
        return "\n".join(rows)
