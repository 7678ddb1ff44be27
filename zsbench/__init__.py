"""zsbench: multi-label generalized zero-shot learning benchmarks for chest X-rays."""

__version__ = "0.1.0"
