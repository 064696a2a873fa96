"""Training callbacks: progress sample grids, sample-quality metrics, checkpoint provenance."""

from zoo.callbacks.metrics import GenerativeMetrics
from zoo.callbacks.provenance import RunProvenance, data_provenance
from zoo.callbacks.samples import SampleGrid

__all__ = ["GenerativeMetrics", "RunProvenance", "SampleGrid", "data_provenance"]
