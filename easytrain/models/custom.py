"""Your own nn.Module by import path (`type: package.module:ClassName`), only with --allow-code."""

from __future__ import annotations

import importlib
import inspect

from torch import nn

from easytrain.config.model import CustomModelConfig
from easytrain.errors import RecipeError
from easytrain.models import ModelSpec


def build(config: CustomModelConfig, spec: ModelSpec) -> nn.Module:
    module_name, _, attr = config.type.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise RecipeError(f"model.type: cannot import '{config.type}': {exc}") from None
    if not (inspect.isclass(cls) and issubclass(cls, nn.Module)):
        raise RecipeError(f"model.type: '{config.type}' is not a torch.nn.Module class")
    kwargs = dict(config.args)
    parameters = inspect.signature(cls).parameters
    for name, value in (("input_shape", spec.input_shape), ("num_outputs", spec.num_outputs)):
        if name in parameters and name not in kwargs:
            kwargs[name] = value  # sized from the data, like the built-in models
    try:
        return cls(**kwargs)
    except Exception as exc:
        raise RecipeError(f"model.args: {config.type}({', '.join(kwargs)}) failed: {exc}") from None
