"""easytrain: a declarative trainer for PyTorch.

The Python API (`easytrain.run`, `load_recipe`, `validate`, `load_run`) is imported on first use,
so `import easytrain` stays as light as the command's `--help`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Run", "__version__", "load_recipe", "load_run", "run", "validate"]

if TYPE_CHECKING:
    from easytrain.api import Run, load_recipe, load_run, run, validate


def __getattr__(name: str) -> Any:
    if name in __all__:
        from easytrain import api

        return getattr(api, name)
    raise AttributeError(f"module 'easytrain' has no attribute {name!r}")
