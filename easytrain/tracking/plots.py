"""PNG plots of a run, drawn with matplotlib's Agg canvas and scikit-learn's display helpers.

Figures are built with the object API (`Figure` + `FigureCanvasAgg`), never through pyplot's
global state, so plotting works headless and leaves an interactive session's backend alone.
Import this module only where plots are drawn: matplotlib takes a while to import.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from easytrain.engine.checkpoint import write_atomic
from easytrain.metrics.tables import MAX_MATRIX_CLASSES

if TYPE_CHECKING:
    from easytrain.data.bundle import DataBundle
    from easytrain.metrics.scoring import Predictions

DPI = 100
MAX_ANNOTATED_CLASSES = 20  # beyond this the confusion matrix shows colours only
WORST_IMAGES = 16


def _figure(width: float, height: float, constrained: bool = True) -> Figure:
    """A figure on the Agg canvas. constrained=False leaves the layout to _save's tight bounding
    box: constrained layout solves for every axes and took 16 small images 0.8 s of 1.2 s."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path, tight: bool = False) -> Path:
    """Atomically, like every file of a run folder: a killed run leaves no half a PNG."""
    box = "tight" if tight else None
    write_atomic(path, lambda file: figure.savefig(file, format="png", bbox_inches=box))
    return path


def _read_history(metrics_csv: Path) -> dict[str, list[float]]:
    with metrics_csv.open(newline="") as file:
        rows = list(csv.DictReader(file))
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            columns.setdefault(key, []).append(
                float(value) if value not in ("", None) else math.nan
            )
    return columns


def curves(metrics_csv: Path, path: Path) -> Path | None:
    """Loss (train vs val) and each validation metric, per epoch, from metrics.csv."""
    if not metrics_csv.exists():
        return None
    history = _read_history(metrics_csv)
    if not history.get("epoch"):
        return None
    epochs = history["epoch"]
    metrics = [k.removeprefix("val_") for k in history if k.startswith("val_") and k != "val_loss"]
    panels = ["loss", *metrics]
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = _figure(4.2 * columns, 3.2 * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, name in zip(axes, panels, strict=False):
        for split in ("train", "val"):
            values = history.get(f"{split}_{name}")
            if values is not None:
                ax.plot(epochs, values, marker="o", markersize=3, label=split)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    figure.suptitle("per epoch: train vs val")
    return _save(figure, path)


def confusion_matrix(y: np.ndarray, pred: np.ndarray, classes: list[str], path: Path) -> Path:
    """Rows: true class, normalised to 1, so that each row reads as that class's recall."""
    from sklearn.metrics import ConfusionMatrixDisplay

    n = len(classes)
    size = min(4 + 0.45 * n, 24)
    figure = _figure(size + 1, size, constrained=False)
    ax = figure.subplots()
    ConfusionMatrixDisplay.from_predictions(
        y,
        pred,
        labels=np.arange(n),
        display_labels=classes,
        normalize="true",
        include_values=n <= MAX_ANNOTATED_CLASSES,
        values_format=".2f",
        xticks_rotation="vertical" if n * max(map(len, classes)) > 40 else "horizontal",
        cmap="Blues",
        ax=ax,
    )
    ax.set_title("confusion matrix (test, rows normalised)")
    return _save(figure, path, tight=True)


def roc_pr(y: np.ndarray, positive: np.ndarray, positive_name: str, folder: Path) -> list[Path]:
    """ROC and precision-recall curves of class 1's probability (two classes)."""
    from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

    written = []
    for name, display, title in (
        ("roc.png", RocCurveDisplay, "ROC curve"),
        ("pr.png", PrecisionRecallDisplay, "precision-recall curve"),
    ):
        figure = _figure(5, 4.5)
        ax = figure.subplots()
        display.from_predictions(y, positive, pos_label=1, name=positive_name, ax=ax)
        ax.set_title(f"{title} (test, positive: {positive_name})")
        ax.grid(alpha=0.3)
        written.append(_save(figure, folder / name))
    return written


def regression(y: np.ndarray, pred: np.ndarray, folder: Path) -> list[Path]:
    """Predicted against true values, and residuals against predicted values (test split)."""
    from sklearn.metrics import PredictionErrorDisplay

    y, pred = np.asarray(y, np.float64).ravel(), np.asarray(pred, np.float64).ravel()
    written = []
    for name, kind, title in (
        ("predicted_vs_true.png", "actual_vs_predicted", "predicted vs true (test)"),
        ("residuals.png", "residual_vs_predicted", "residuals (test)"),
    ):
        figure = _figure(5, 4.5)
        ax = figure.subplots()
        PredictionErrorDisplay.from_predictions(y, pred, kind=kind, random_state=0, ax=ax)
        ax.set_title(title)
        written.append(_save(figure, folder / name))
    return written


def displayable(x: np.ndarray, preprocessing: dict[str, Any]) -> np.ndarray:
    """Model inputs (n, c, h, w) → images in [0, 1], (n, h, w, c): undo the saved normalisation."""
    x = np.asarray(x, np.float64)
    norm = preprocessing.get("normalize")
    if norm:
        mean, std = np.asarray(norm["mean"], np.float64), np.asarray(norm["std"], np.float64)
        if norm.get("per") == "channel":
            mean, std = mean.reshape(1, -1, 1, 1), std.reshape(1, -1, 1, 1)
        x = x * std + mean
    if "rescale" in preprocessing:  # 8-bit images: [0, 1] after rescaling, else [0, 255]
        x = x / (1.0 if preprocessing["rescale"] else 255.0)
    else:
        low, high = x.min(), x.max()
        x = (x - low) / (high - low if high > low else 1.0)
    return np.clip(x, 0.0, 1.0).transpose(0, 2, 3, 1)


def confident_errors(
    x: Any,  # the test inputs: a tensor, or a stream that makes them (data/stream.py)
    y: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray,
    classes: list[str],
    preprocessing: dict[str, Any],
    path: Path,
) -> Path | None:
    """The test images the model got wrong with the highest confidence; None when none are wrong."""
    wrong = np.flatnonzero(pred != y)
    if len(wrong) == 0:
        return None
    confidence = proba[wrong, pred[wrong]]
    chosen = wrong[np.argsort(-confidence, kind="stable")[:WORST_IMAGES]]
    images = displayable(np.asarray(x[chosen].cpu()), preprocessing)
    columns = min(4, len(chosen))
    rows = math.ceil(len(chosen) / columns)
    figure = _figure(2.6 * columns, 2.9 * rows, constrained=False)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, index, image in zip(axes, chosen, images, strict=False):
        if image.shape[-1] == 3:
            ax.imshow(image, interpolation="nearest")
        else:
            ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(
            f"true {classes[y[index]]}\npred {classes[pred[index]]} ({proba[index, pred[index]]:.2f})",
            fontsize=9,
        )
        ax.set_axis_off()
    for ax in axes[len(chosen) :]:
        ax.set_visible(False)
    figure.suptitle("most confidently wrong (test)")
    return _save(figure, path, tight=True)


def write_all(run_dir: Path, data: DataBundle, predicted: dict[str, Predictions]) -> list[Path]:
    """Every plot that fits this run, under run_dir/plots/; the paths written."""
    folder = run_dir / "plots"
    written = [curves(run_dir / "metrics.csv", folder / "curves.png")]
    test = predicted.get("test")
    if test is not None and data.classes is not None:
        assert test.proba is not None
        if len(data.classes) <= MAX_MATRIX_CLASSES:  # beyond, neither readable nor quick
            written.append(
                confusion_matrix(test.y, test.pred, data.classes, folder / "confusion_matrix.png")
            )
        if len(data.classes) == 2 and len(np.unique(test.y)) == 2:
            written += roc_pr(test.y, test.proba[:, 1], data.classes[1], folder)
        if len(data.input_shape) == 3 and data.test is not None:
            written.append(
                confident_errors(
                    data.test.x,
                    test.y,
                    test.pred,
                    test.proba,
                    data.classes,
                    data.preprocessing.as_json(),
                    folder / "confident_errors.png",
                )
            )
    elif test is not None:
        written += regression(test.y, test.pred, folder)
    return [path for path in written if path is not None]
