"""torchvision's classification models: their names, read from torchvision itself, and the config.

The names come from torchvision's own source (every builder carries `@register_model()`), read
with `ast` so that `validate` and `schema` know them without importing torch. A test checks the
list equals `torchvision.models.list_models(module=torchvision.models)`.
"""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, NonNegativeInt, ValidationInfo, field_validator

from easytrain.config.base import Section
from easytrain.errors import suggest


@cache
def torchvision_models() -> tuple[str, ...]:
    """Classification model names, as torchvision registers them (top-level builders only)."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return ()
    names: list[str] = []
    for path in sorted((Path(spec.origin).parent / "models").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and any(
                _registers(d) for d in node.decorator_list
            ):
                names.append(_registered_name(node))
    return tuple(sorted(names))


def _registers(decorator: ast.expr) -> bool:
    call = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(call, ast.Name) and call.id == "register_model"


def _registered_name(node: ast.FunctionDef) -> str:
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and decorator.args:
            first = decorator.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return first.value
    return node.name


class TorchvisionConfig(Section):
    """A torchvision classification model (resnet18, mobilenet_v3_small, efficientnet_b0, vit_b_16 …), its head sized from the data."""

    union_tag: ClassVar[str] = "torchvision"  # the recipe union's member for every such model

    type: str
    """The torchvision model name, e.g. resnet18 (see torchvision.models.list_models())."""
    weights: str | None = None
    """Pretrained weights: a torchvision weights name (DEFAULT, IMAGENET1K_V1 …) or a local .pth file; none trains from scratch."""
    freeze: Literal["none", "backbone"] = "none"
    """backbone: train only the new head."""
    unfreeze_after: NonNegativeInt | None = None
    """With freeze: backbone, train everything from this epoch on (fine-tuning)."""
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    """Dropout before the new head."""

    @field_validator("type")
    @classmethod
    def _known(cls, name: str, info: ValidationInfo) -> str:
        known = torchvision_models()
        if name not in known:
            raise ValueError(f"'{name}' is not a torchvision model{suggest(name, list(known))}")
        return name
