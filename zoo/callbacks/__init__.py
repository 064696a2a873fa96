"""Training callbacks: progress sample grids and sample-quality metrics."""

from zoo.callbacks.metrics import GenerativeMetrics
from zoo.callbacks.samples import SampleGrid

__all__ = ["GenerativeMetrics", "SampleGrid"]
