"""Export the trained model, check each export against it on real inputs, and write model.json."""

from __future__ import annotations

from easytrain.config.export import ExportConfig
from easytrain.deploy.card import data_card, sample_inputs
from easytrain.deploy.exporting import export_formats, failure, write_model_card
from easytrain.pipeline.context import RunContext


class ExportStage:
    def __init__(self, config: ExportConfig):
        self.config = config

    def run(self, ctx: RunContext) -> None:
        assert ctx.model is not None and ctx.data is not None
        folder = ctx.run_dir / "export"
        folder.mkdir(exist_ok=True)
        card = data_card(ctx.data)
        target = ctx.data.preprocessing.target
        exported = export_formats(
            ctx.model,
            sample_inputs(ctx.data),
            folder,
            self.config,
            scale=target.std if target else 1.0,
            say=ctx.reporter.info,
        )
        for name, file in exported.files.items():
            ctx.artifacts[f"export_{name}"] = f"export/{file}"
        outputs = _outputs(ctx)
        write_model_card(folder, ctx.recipe.name, card, ctx.threshold, outputs, exported)
        ctx.artifacts["model_card"] = "export/model.json"
        error = failure(exported)
        if error is not None:
            raise error


def _outputs(ctx: RunContext) -> int:
    from easytrain.engine.optim import output_count

    assert ctx.data is not None
    return output_count(ctx.recipe.train, ctx.data.task, ctx.data.classes, ctx.data.num_outputs)
