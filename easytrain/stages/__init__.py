"""The pipeline's stages: preprocess → model → train → evaluate → export.

A stage is a class built from its recipe section, with one method, ``run(ctx)``.
"""

from __future__ import annotations

from typing import Protocol

from easytrain.pipeline.context import RunContext


class Stage(Protocol):
    def run(self, ctx: RunContext) -> None: ...
