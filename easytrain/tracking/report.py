"""`easytrain report RUN_DIR`: one self-contained HTML page about a run.

Everything is inline (CSS, plots as base64 PNG), so the page can be mailed, attached to a CI job
or opened offline. It reads only the run folder: recipe.yaml, summary.json, model.txt, env.json,
metrics.csv and plots/ — only the files it expects, and only regular files inside the folder
(pipeline/runfiles.py): a symbolic link out of a run folder from elsewhere is left out, so
the page never embeds another local file.
"""

from __future__ import annotations

import base64
import json
import os
from html import escape
from pathlib import Path
from typing import Any

from easytrain.errors import RecipeError
from easytrain.pipeline.runfiles import read_text, why_not

PLOT_ORDER = ("curves", "confusion_matrix", "roc", "pr", "predicted_vs_true", "residuals")
PLOTS = (*PLOT_ORDER, "confident_errors")  # the plots the evaluate stage writes
CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0; } .sub { color: #666; margin-top: .2em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border: 1px solid #ddd; padding: 3px 9px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; } .pass { color: #17803d; } .fail { color: #c0262d; font-weight: bold; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 12px; }
img { max-width: 100%; border: 1px solid #eee; margin: .5em 0; }
"""


def _read_json(path: Path) -> dict[str, Any]:
    text = read_text(path.parent, path.name)
    try:
        found = json.loads(text) if text is not None else {}
    except json.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return escape(str(value))


def _table(header: list[str], rows: list[list[Any]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        f"<tr{f' class={classes[i]!r}' if classes else ''}>"
        + "".join(f"<td>{_number(cell)}</td>" for cell in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _metrics(summary: dict[str, Any]) -> str:
    metrics = summary.get("metrics") or {}
    names = list(dict.fromkeys(name for values in metrics.values() for name in values))
    if not names:
        return "<p>No metrics (the run did not reach evaluation).</p>"
    rows = [[split, *(values.get(n, "") for n in names)] for split, values in metrics.items()]
    return _table(["split", *names], rows)


def _gates(summary: dict[str, Any]) -> str:
    gates = summary.get("gates") or []
    if not gates:
        return "<p>No gates.</p>"
    from easytrain.metrics.gates import Gate
    from easytrain.tracking.gatetable import table

    checked = [Gate.from_json(g) for g in gates]
    header, rows = table(checked)
    return _table(header, rows, ["pass" if g.passed else "fail" for g in checked])


def _data(summary: dict[str, Any]) -> str:
    data = summary.get("data") or {}
    if not data:
        return "<p>No data summary.</p>"
    parts = [
        f"<p>{escape(str(data.get('description', '')))}: {escape(str(data.get('task')))}, "
        f"input shape {escape(str(data.get('input_shape')))}</p>",
        _table(["split", "examples"], [[k, v] for k, v in (data.get("sizes") or {}).items()]),
    ]
    counts = data.get("class_counts")
    if counts:
        classes = data.get("classes") or []
        splits = list(counts)
        rows = [[name, *(counts[s].get(name, 0) for s in splits)] for name in classes]
        parts.append(_table(["class", *splits], rows))
    return "".join(parts)


def _per_class(summary: dict[str, Any]) -> str:
    table = (summary.get("per_class") or {}).get("test")
    if not table:
        return ""
    rows = [[name, v["precision"], v["recall"], v["f1"], v["support"]] for name, v in table.items()]
    return "<h2>Per class (test)</h2>" + _table(
        ["class", "precision", "recall", "f1", "support"], rows
    )


def _plots(run_dir: Path) -> str:
    folder = run_dir / "plots"
    if (
        not os.path.lexists(folder / "curves.png")
        and (run_dir / "metrics.csv").exists()
        and why_not(run_dir, "metrics.csv") is None
        and why_not(run_dir, "plots") is None
    ):
        from easytrain.tracking.plots import curves

        curves(run_dir / "metrics.csv", folder / "curves.png")
    files = [
        folder / f"{name}.png"
        for name in PLOTS
        if (folder / f"{name}.png").exists() and why_not(run_dir, f"plots/{name}.png") is None
    ]
    return "".join(
        f"<h3>{escape(path.stem.replace('_', ' '))}</h3><img alt={escape(path.stem)!r} "
        f"src='data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}'>"
        for path in files
    )


def _evaluations(run_dir: Path) -> str:
    """Later re-evaluations (`easytrain evaluate`), newest first."""
    folder = run_dir / "evaluations"
    found = [
        _read_json(p)
        for p in sorted(folder.glob("*.json"), reverse=True)
        if why_not(run_dir, p.relative_to(run_dir)) is None
    ]
    rows = [
        [e.get("evaluated", "?"), split, " ".join(e.get("data_overrides") or []) or "(own data)"]
        + [", ".join(f"{k} {v:.4f}" for k, v in values.items() if isinstance(v, float))]
        for e in found
        for split, values in (e.get("metrics") or {}).items()
    ]
    if not rows:
        return ""
    return "<h2>Re-evaluations</h2>" + _table(["when", "split", "data", "metrics"], rows)


def _samples(run_dir: Path) -> str:
    """A language model's answers to fixed validation prompts (samples.jsonl), if it has them."""
    from easytrain.tracking.samples import report_section

    return report_section(run_dir)


def _explain(run_dir: Path) -> str:
    """What `easytrain explain` wrote to explain/, if it ran."""
    from easytrain.explain.render import report_section

    return report_section(run_dir)


def _text(path: Path) -> str:
    if not os.path.lexists(path):
        return "(missing)"
    problem = why_not(path.parent, path.name)
    text = read_text(path.parent, path.name)
    return escape(
        f"(left out: {problem})" if problem else text if text is not None else "(unreadable)"
    )


def _recipe_name(path: Path) -> str | None:
    import yaml

    try:
        name = (yaml.safe_load(read_text(path.parent, path.name) or "") or {}).get("name")
    except (yaml.YAMLError, AttributeError):
        return None
    return str(name) if name else None


def render(run_dir: Path) -> str:
    from easytrain.engine.runfolder_checks import summary as checked

    file = run_dir / "summary.json"
    text = read_text(run_dir, "summary.json")
    summary = checked(json.loads(text), file) if text and _is_json(text) else _read_json(file)
    env = _read_json(run_dir / "env.json")
    threshold = summary.get("threshold")
    threshold_line = ""
    if threshold:
        how = f", best {threshold['optimize']} on val" if threshold.get("optimize") else ""
        threshold_line = f"<p>Decision threshold: {threshold['value']:.4f}{escape(how)}</p>"
    recipe = _recipe_name(run_dir / "recipe.yaml")
    name = f"{recipe} · {run_dir.resolve().name}" if recipe else run_dir.resolve().name
    facts = (
        f"status {summary.get('status', 'unknown')} · best epoch {summary.get('best_epoch')} of "
        f"{summary.get('epochs_completed')} · started {env.get('started', '?')} on "
        f"{env.get('device', '?')} · torch {env.get('torch', '?')}"
    )
    sections = [
        f"<h1>easytrain run {escape(name)}</h1><p class='sub'>{escape(facts)}</p>",
        "<h2>Metrics</h2>" + _metrics(summary) + threshold_line,
        "<h2>Gates</h2>" + _gates(summary),
        _samples(run_dir),
        "<h2>Data</h2>" + _data(summary),
        _per_class(summary),
        _evaluations(run_dir),
        "<h2>Plots</h2>" + _plots(run_dir),
        _explain(run_dir),
        f"<h2>Model</h2><pre>{_text(run_dir / 'model.txt')}</pre>",
        f"<h2>Recipe</h2><pre>{_text(run_dir / 'recipe.yaml')}</pre>",
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>easytrain · {escape(name)}</title><style>{CSS}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )


def write_report(run_dir: Path) -> Path:
    if not (run_dir / "recipe.yaml").is_file():
        raise RecipeError(f"{run_dir} is not a run folder: it has no recipe.yaml")
    from easytrain.engine.checkpoint import write_atomic
    from easytrain.pipeline.folders import check_writable

    check_writable(run_dir, "report.html")
    page = render(run_dir).encode("utf-8")
    write_atomic(run_dir / "report.html", lambda file: file.write(page))  # never half a page
    return run_dir / "report.html"
