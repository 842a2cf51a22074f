"""The explain/ files (CSV, PNG, HTML) and the section report.html shows of them.

matplotlib is imported only where a picture is drawn; the report section reads the files back.
"""

from __future__ import annotations

import base64
import csv
import json
import math
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from easytrain.explain.importance import Groups

GRID_COLUMNS = 4
SHOWN_COLUMNS = 20  # bars in a plot: the most important columns


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=float) + "\n", encoding="utf-8")


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _bars(
    path: Path,
    names: list[str],
    values: list[float],
    errors: list[float] | None,
    title: str,
    xlabel: str,
) -> None:
    shown = list(range(min(len(names), SHOWN_COLUMNS)))[::-1]  # most important on top
    if len(names) > SHOWN_COLUMNS:
        title += f" (top {SHOWN_COLUMNS} of {len(names)} columns)"
    figure = _figure(7, 0.9 + 0.32 * len(shown))
    axes = figure.add_subplot()
    axes.barh(
        [names[i] for i in shown],
        [values[i] for i in shown],
        color="#3b75af",
        xerr=[errors[i] for i in shown] if errors else None,
        capsize=3,
    )
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.axvline(0, color="#888", linewidth=0.8)
    figure.savefig(path, format="png")


def table_files(
    folder: Path,
    ranked: list[dict[str, Any]],
    metric: str,
    groups: Groups,
    rows: np.ndarray,
    labels: list[str],
    per_column: np.ndarray,
    true: list[str],
    pred: list[str],
    confidence: np.ndarray,
) -> list[str]:
    """importance.csv/.png and attributions.csv/.png; the file names written."""
    with (folder / "importance.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, ["column", "importance_mean", "importance_std", "repeats"])
        writer.writeheader()
        writer.writerows(ranked)
    _bars(
        folder / "importance.png",
        [r["column"] for r in ranked],
        [r["importance_mean"] for r in ranked],
        [r["importance_std"] for r in ranked],
        f"Permutation importance ({ranked[0]['repeats']} shuffles per column)",
        f"drop in {metric} when the column is shuffled",
    )
    names = [name for name, _ in groups]
    with (folder / "attributions.csv").open("w", newline="") as file:
        rows_out = csv.writer(file)
        rows_out.writerow(["row", "group", "true", "predicted", "confidence", *names])
        for i, row in enumerate(rows):
            rows_out.writerow(
                [
                    int(row),
                    labels[i],
                    true[i],
                    pred[i],
                    f"{confidence[i]:.4f}",
                    *(f"{v:.6g}" for v in per_column[i]),
                ]
            )
    mean = np.abs(per_column).mean(axis=0)
    order = np.argsort(-mean, kind="stable")
    _bars(
        folder / "attributions.png",
        [names[i] for i in order],
        [float(mean[i]) for i in order],
        None,
        f"Integrated gradients: mean |attribution| over {len(rows)} rows",
        "mean |attribution| (output units)",
    )
    return ["importance.csv", "importance.png", "attributions.csv", "attributions.png"]


def _display(image: np.ndarray, preprocessing: dict[str, Any]) -> np.ndarray:
    """A model input back to pixels in [0, 1], height × width (× 3)."""
    norm = preprocessing.get("normalize")
    if norm and norm.get("per") == "channel":
        mean = np.asarray(norm["mean"], dtype=np.float32).reshape(-1, 1, 1)
        std = np.asarray(norm["std"], dtype=np.float32).reshape(-1, 1, 1)
        image = image * std + mean
    if image.max() > 1.5:
        image = image / 255.0
    image = np.clip(image, 0.0, 1.0)
    return image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)


def image_grid(
    folder: Path,
    images: Any,
    maps: np.ndarray,
    preprocessing: dict[str, Any],
    true: list[str],
    pred: list[str],
    confidence: np.ndarray,
) -> list[str]:
    """images.png: each image with its attribution map over it, titled true / predicted."""
    from matplotlib import colormaps

    count = len(maps)
    columns = min(GRID_COLUMNS, count)
    lines = math.ceil(count / columns)
    figure = _figure(2.4 * columns, 2.6 * lines)
    for i in range(count):
        axes = figure.add_subplot(lines, columns, i + 1)
        picture = _display(images[i].numpy(), preprocessing)
        axes.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=1)
        heat = np.clip(maps[i] / (maps[i].max() or 1.0), 0.0, 1.0)
        colours = colormaps["inferno"](heat)
        colours[..., 3] = 0.85 * heat  # strong attribution opaque, none transparent
        axes.imshow(colours)
        right = true[i] == pred[i]
        axes.set_title(
            f"true {true[i]} · pred {pred[i]}\np={confidence[i]:.2f}",
            fontsize=9,
            color="#17803d" if right else "#c0262d",
        )
        axes.set_axis_off()
    figure.savefig(folder / "images.png", format="png")
    np.save(folder / "image_maps.npy", maps.astype(np.float32))
    return ["images.png", "image_maps.npy"]


def _token_spans(tokens: list[str], values: np.ndarray) -> str:
    scale = float(np.abs(values).max()) or 1.0
    spans = []
    for token, value in zip(tokens, values[: len(tokens)], strict=False):
        share = min(abs(float(value)) / scale, 1.0)
        colour = "220,40,40" if value > 0 else "40,90,220"
        spans.append(
            f"<span title='{float(value):.4f}' style='background:rgba({colour},"
            f"{share:.2f});padding:1px 2px;border-radius:3px'>{escape(token)}</span>"
        )
    return " ".join(spans)


def token_html(
    folder: Path,
    tokens: list[list[str]],
    values: np.ndarray,
    true: list[str],
    pred: list[str],
    confidence: np.ndarray,
) -> list[str]:
    """tokens.html (a page) and tokens.json: each text with its tokens coloured by attribution."""
    records = [
        {
            "tokens": t,
            "attributions": [float(v) for v in values[i][: len(t)]],
            "true": true[i],
            "predicted": pred[i],
            "confidence": float(confidence[i]),
        }
        for i, t in enumerate(tokens)
    ]
    write_json(folder / "tokens.json", {"texts": records})
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>token "
        "attributions</title></head><body style='font:15px/1.9 system-ui,sans-serif;"
        f"max-width:900px;margin:2em auto'>{tokens_fragment(records)}</body></html>\n"
    )
    (folder / "tokens.html").write_text(page, encoding="utf-8")
    return ["tokens.html", "tokens.json"]


def tokens_fragment(records: list[dict[str, Any]]) -> str:
    items = "".join(
        f"<p><b>true {escape(r['true'])} · predicted {escape(r['predicted'])} "
        f"(p={r['confidence']:.2f})</b><br>"
        f"{_token_spans(r['tokens'], np.asarray(r['attributions']))}</p>"
        for r in records
    )
    return (
        "<p>Red: pushed the model towards its prediction; blue: away from it. Hover a "
        f"token for its attribution.</p>{items}"
    )


def _inside(run_dir: Path, path: Path) -> bool:
    """A regular file inside the run folder: a run folder from elsewhere may hold links out."""
    return (
        path.resolve().is_relative_to(run_dir.resolve())
        and path.is_file()
        and not path.is_symlink()
    )


def _png(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f"<img alt={escape(path.stem)!r} src='data:image/png;base64,{data}'>"


def report_section(run_dir: Path) -> str:
    """The 'Why the model decides so' section of report.html, or '' without explain/."""
    folder = run_dir / "explain"
    if not _inside(run_dir, folder / "summary.json"):
        return ""
    try:
        found = json.loads((folder / "summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        return ""
    parts = [
        "<h2>Why the model decides so</h2>",
        f"<p>easytrain explain, {escape(str(found.get('split')))} split "
        f"({found.get('examples')} examples).</p>",
    ]
    parts += [f"<p>{escape(note)}</p>" for note in found.get("notes", [])]
    ranked = found.get("importance") or []
    if ranked:
        rows = "".join(
            f"<tr><td>{escape(r['column'])}</td><td>{r['importance_mean']:.4f}</td>"
            f"<td>{r['importance_std']:.4f}</td></tr>"
            for r in ranked[:SHOWN_COLUMNS]
        )
        parts.append(
            f"<h3>Permutation importance (drop in {escape(found['metric'])})</h3>"
            f"<table><tr><th>column</th><th>mean</th><th>spread (std)</th></tr>{rows}"
            "</table>"
        )
    for name in ("importance.png", "attributions.png", "images.png"):
        if _inside(run_dir, folder / name):
            parts.append(_png(folder / name))
    if _inside(run_dir, folder / "tokens.json"):
        parts.append(tokens_fragment(json.loads((folder / "tokens.json").read_text())["texts"]))
    return "".join(parts)
