"""A loaded run that answers: model inputs → outputs (in the chosen format) → answers.

The answers are what the evaluate stage computes (metrics.scoring.predictions): the most probable
class, or for two classes the run's decision threshold on class 1's probability; regression
values in target units.
"""

from __future__ import annotations

from typing import Any

import torch

from easytrain.deploy import formats
from easytrain.deploy.inputs import Preparer
from easytrain.deploy.loaded import LoadedRun
from easytrain.errors import RecipeError
from easytrain.metrics.scoring import predictions
from easytrain.pipeline.runfiles import run_file

CHECKPOINT = "checkpoint"  # the run's network with checkpoints/best.pt, in PyTorch
FORMATS = (CHECKPOINT, *formats.FILES)


class Predictor:
    def __init__(self, run: LoadedRun, format: str | None = None):
        if "chat" in (run.card["preprocessing"].get("encoding") or {}):
            raise RecipeError(
                f"{run.run_dir} is a language model (data.source chat): it answers prompts; use "
                f'easytrain generate {run.run_dir} "a prompt" (or serve\'s POST /generate)'
            )
        self.run = run
        self.format = format or CHECKPOINT
        if self.format not in FORMATS:
            raise RecipeError(f"--format: expected one of {', '.join(FORMATS)}, got '{format}'")
        self.task: str = run.card["task"]
        self.classes: list[str] | None = run.card["classes"]
        binary = self.classes is not None and len(self.classes) == 2
        self.threshold = run.threshold if binary else None
        self.prepare = Preparer(run.card, run.run_dir)
        self.runner = self._runner()

    def _runner(self) -> formats.Runner:
        if self.format == CHECKPOINT:
            return self.run.model
        path = run_file(self.run.run_dir, f"export/{formats.FILES[self.format]}", folder=True)
        if not path.exists():
            raise RecipeError(
                f"{path} does not exist; export it first: "
                f"easytrain export {self.run.run_dir} --format {self.format}"
            )
        return formats.load(self.format, path, self.run.architecture)

    @torch.no_grad()
    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        return self.runner(x)

    def answers(self, out: torch.Tensor) -> list[dict[str, Any]]:
        """One answer per example: {class, probabilities} or {value} (a list for several targets)."""
        found = predictions(self.task, out, torch.zeros(len(out)), self.threshold)
        if self.classes is None:
            return [{"value": v.tolist()} for v in found.pred]
        assert found.proba is not None
        return [
            {
                "class": self.classes[int(label)],
                "probabilities": dict(zip(self.classes, p.tolist(), strict=True)),
            }
            for label, p in zip(found.pred, found.proba, strict=True)
        ]

    def metadata(self) -> dict[str, Any]:
        """The model card, as export/model.json has it (without the export checks)."""
        from easytrain.deploy.card import model_card

        outputs = int(self.outputs(self.run.sample[:2]).shape[-1])
        card = model_card(self.run.recipe.name, self.run.card, self.threshold, outputs)
        return card | {"format": self.format}
