"""`easytrain explain RUN_DIR`: load the run, rebuild its split, explain, write explain/.

The model comes from the run folder the way predict loads it (deploy/loaded.py: recipe.yaml,
preprocessing.json, checkpoints/best.pt with weights_only); the split is rebuilt from recipe.yaml
(the same seed gives the same rows and statistics). Everything runs on the CPU.
"""

from __future__ import annotations

import io
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from easytrain.deploy.loaded import LoadedRun, load_run
from easytrain.errors import RunFailed
from easytrain.explain import attributions as attr
from easytrain.explain import choose, render
from easytrain.explain.importance import permutation_importance, table_groups
from easytrain.metrics import CATALOG, DEFAULTS
from easytrain.metrics.scoring import outputs, predictions

BATCH = 256


@dataclass
class Job:
    """What one explanation works on: the run, its model, the split, and where the files go."""

    run: LoadedRun
    model: torch.nn.Module
    x: torch.Tensor
    y: torch.Tensor
    n: int  # examples explained one by one
    repeats: int  # shuffles per column (permutation importance)
    folder: Path  # RUN_DIR/explain
    notes: list[str]  # plain sentences for summary.json and the console

    def unpack(
        self,
    ) -> tuple[LoadedRun, torch.nn.Module, torch.Tensor, torch.Tensor, int, Path, list[str]]:
        return self.run, self.model, self.x, self.y, self.n, self.folder, self.notes


def explain_run(run_dir: Path, split: str, n: int, repeats: int, allow_code: bool = False) -> Path:
    """Write RUN_DIR/explain/ and report.html; return the explain folder."""
    run = load_run(run_dir, allow_code)
    x, y = _split(run, split)
    folder = run_dir / "explain"
    folder.mkdir(exist_ok=True)
    for stale in folder.iterdir():
        if stale.is_file():
            stale.unlink()
    kind = "image" if x.ndim == 4 else run.kind if run.kind != "features" else "table"
    model = run.model
    torch.manual_seed(run.recipe.seed)
    found: dict[str, Any] = {"split": split, "examples": len(y), "kind": kind, "notes": []}
    explainers = {"table": _table, "image": _images, "text": _text}
    if kind not in explainers:
        found["notes"].append(f"no explanation applies to {kind} inputs")
    else:
        found |= explainers[kind](Job(run, model, x, y, n, repeats, folder, found["notes"]))
    render.write_json(folder / "summary.json", found)
    from easytrain.tracking.report import write_report

    report = write_report(run_dir)
    for note in found["notes"]:
        print(note, file=sys.stderr)
    print(
        f"explain → {folder}/ ({', '.join(found.get('files', []))}); report → {report}",
        file=sys.stderr,
    )
    return folder


def _split(run: LoadedRun, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The split's model inputs and targets, rebuilt from the run's recipe on the CPU."""
    from easytrain.pipeline.context import RunContext
    from easytrain.registry import default_registry
    from easytrain.tracking.console import PlainReporter

    registry = default_registry()
    with tempfile.TemporaryDirectory() as scratch:
        ctx = RunContext(
            run.recipe, Path(scratch), torch.device("cpu"), registry, PlainReporter(io.StringIO())
        )
        registry.get("preprocess", run.recipe.preprocess.type).load()(run.recipe.preprocess).run(
            ctx
        )
    assert ctx.data is not None
    split = ctx.data.split(name)
    if split is None or len(split) == 0:
        raise RunFailed(f"{run.run_dir}: the run has no {name} split to explain; try --split val")
    return split.x, split.y  # type: ignore[return-value]


def _metric(run: LoadedRun) -> str:
    """The metric the recipe gates on, or its first metric, or the task's first default."""
    evaluate = run.recipe.evaluate
    names = [*evaluate.gates, *(evaluate.metrics or []), *DEFAULTS[run.card["task"]]]
    return next(n for n in names if n in CATALOG)


def _scorer(
    run: LoadedRun, model: torch.nn.Module, y: torch.Tensor, metric: str
) -> Callable[[torch.Tensor], float]:
    from easytrain.registry import default_registry

    compute = default_registry().get("metric", metric).load()
    threshold = run.threshold if run.card["classes"] and len(run.card["classes"]) == 2 else None

    def score(x: torch.Tensor) -> float:
        found = predictions(
            run.card["task"], outputs(model, x, BATCH, torch.device("cpu")), y, threshold
        )
        return float(compute(found.y, found.pred, found.proba))

    return score


def _confidence(
    run: LoadedRun, out: torch.Tensor, y: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """(predicted label or value, confidence): the predicted class's probability, or for
    regression minus the absolute error (so 'least confident' are the worst predictions)."""
    found = predictions(run.card["task"], out, y, None)
    if found.proba is None:
        pred = found.pred.reshape(len(found.pred), -1)[:, 0]
        return pred, -np.abs(pred - found.y.reshape(len(found.y), -1)[:, 0])
    return found.pred, found.proba.max(axis=1)


def _table(job: Job) -> dict[str, Any]:
    run, model, x, y, n, folder, notes = job.unpack()
    groups = table_groups(run.card)
    metric = _metric(run)
    ranked = permutation_importance(
        _scorer(run, model, y, metric),
        x,
        groups,
        CATALOG[metric].higher_is_better,
        job.repeats,
        run.recipe.seed,
    )
    out = outputs(model, x, BATCH, torch.device("cpu"))
    pred, confidence = _confidence(run, out, y)
    order = np.argsort(confidence, kind="stable")
    n = min(n, len(order) // 2) or 1
    rows = np.concatenate([order[:n], order[-n:]])
    chosen = x[torch.from_numpy(rows)]
    target = attr.targets(out[torch.from_numpy(rows)])
    table = run.card["preprocessing"].get("encoding", {}).get("table") or {}
    if table.get("categorical") and table.get("categorical_encoding") == "index":
        method = "feature_ablation"
        notes.append(
            "attributions by feature ablation: category numbers (data.categorical: "
            "index) have no gradient, so each column is set to 0 (unknown / average) "
            "and the output's change is its attribution"
        )
        values = attr.ablation(model, chosen, target, groups)
    else:
        method = "integrated_gradients"
        values = attr.integrated_gradients(model, chosen, target)
    per_column = attr.by_column(values, groups).numpy()
    worst, best = (
        ("least confident", "most confident")
        if run.card["classes"]
        else ("largest errors", "smallest errors")
    )
    labels = [worst] * n + [best] * n  # regression: confidence is minus the absolute error
    files = render.table_files(
        folder,
        ranked,
        metric,
        groups,
        rows,
        labels,
        per_column,
        choose.names(run, y[torch.from_numpy(rows)]),
        choose.names(run, pred[rows]),
        confidence[rows],
    )
    return {"metric": metric, "importance": ranked, "attribution_method": method, "files": files}


def _images(job: Job) -> dict[str, Any]:
    run, model, x, y, n, folder, notes = job.unpack()
    out = outputs(model, x, BATCH, torch.device("cpu"))
    pred, confidence = _confidence(run, out, y)
    chosen = choose.pick(pred == y.numpy(), confidence, n, y.numpy())
    index = torch.from_numpy(chosen)
    images = x[index]
    target = attr.targets(out[index])
    maps = attr.integrated_gradients(model, images, target).abs().sum(dim=1)
    true, predicted = choose.names(run, y[index]), choose.names(run, pred[chosen])
    files = render.image_grid(
        folder, images, maps.numpy(), run.card["preprocessing"], true, predicted, confidence[chosen]
    )
    notes.append(
        f"{len(chosen)} images ({choose.which(pred == y.numpy(), chosen)}): the bright parts of each "
        "map moved the predicted class's score most (integrated gradients, baseline: the "
        "average image)"
    )
    return {
        "attribution_method": "integrated_gradients",
        "files": files,
        "explained": choose.explained(chosen, true, predicted, confidence[chosen]),
    }


def _text(job: Job) -> dict[str, Any]:
    run, model, x, y, n, folder, notes = job.unpack()
    settings = run.card["preprocessing"]["encoding"]["text"]
    layer = attr.token_embedding(model, settings.get("vocab_size"))
    if layer is None:
        notes.append(
            "token attributions do not apply: the model has no token embedding layer "
            "(nn.Embedding) to attribute through"
        )
        return {"files": []}
    out = outputs(model, x, BATCH, torch.device("cpu"))
    pred, confidence = _confidence(run, out, y)
    correct = pred == y.numpy() if run.card["classes"] else np.ones(len(y), dtype=bool)
    chosen = choose.pick(correct, confidence, n)
    index = torch.from_numpy(chosen)
    ids = x[index]
    pad = int(settings.get("pad_id", 0))
    blank = int(settings.get("pad_token_id", pad))
    values = attr.token_attributions(model, ids, attr.targets(out[index]), layer, pad, blank)
    tokens = choose.tokens(run, settings, ids, pad)
    true, predicted = choose.names(run, y[index]), choose.names(run, pred[chosen])
    files = render.token_html(folder, tokens, values.numpy(), true, predicted, confidence[chosen])
    notes.append(
        f"{len(chosen)} texts ({choose.which(correct, chosen)}): red tokens pushed the model "
        "towards its prediction, blue ones away (layer integrated gradients over the "
        "token embeddings)"
    )
    return {
        "attribution_method": "layer_integrated_gradients",
        "files": files,
        "explained": choose.explained(chosen, true, predicted, confidence[chosen]),
    }
