"""Training callbacks: progress sample grids (metrics arrive in ``zoo.callbacks.metrics``)."""

from zoo.callbacks.samples import SampleGrid

__all__ = ["SampleGrid"]
