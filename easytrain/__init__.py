"""easytrain: a declarative trainer for PyTorch."""

__version__ = "0.1.0"
