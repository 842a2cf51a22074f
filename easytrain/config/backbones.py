"""torchvision's classification models: their names, read from torchvision itself, and the config.

The names come from torchvision's own source (every builder carries `@register_model()`), read
with a pattern so that `validate` and `schema` know them without importing torch. A test checks the
list equals `torchvision.models.list_models(module=torchvision.models)`.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, NonNegativeInt, ValidationInfo, field_validator

from easytrain.config.base import Section
from easytrain.errors import suggest

# `@register_model()` (or with a name), other decorators perhaps, then the builder's `def`
_REGISTERED = re.compile(
    r"^@register_model\((?:name=)?(?:\"([^\"]*)\"|'([^']*)')?\)\n(?:@.*\n(?:[ \t)].*\n)*)*def (\w+)",
    re.MULTILINE,
)


@cache
def torchvision_models() -> tuple[str, ...]:
    """Classification model names, as torchvision registers them (top-level builders only).

    A pattern over the sources, not `ast`: parsing torchvision's model files took 0.1–0.3 s of
    every `validate` that names one."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return ()
    names: list[str] = []
    for path in sorted((Path(spec.origin).parent / "models").glob("*.py")):
        for match in _REGISTERED.finditer(path.read_text(encoding="utf-8")):
            names.append(match.group(1) or match.group(2) or match.group(3))
    return tuple(sorted(names))


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
