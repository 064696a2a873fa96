"""Training callbacks: progress sample grids, sample-quality metrics, checkpoint provenance, signals, speed-ups."""

from zoo.callbacks.interrupt import StopOnSignal
from zoo.callbacks.metrics import GenerativeMetrics
from zoo.callbacks.performance import ChannelsLast, Compile
from zoo.callbacks.provenance import RunProvenance, data_provenance
from zoo.callbacks.samples import SampleGrid

__all__ = ["ChannelsLast", "Compile", "GenerativeMetrics", "RunProvenance", "SampleGrid", "StopOnSignal", "data_provenance"]
