"""Every plot a run promises is a real PNG of a readable size."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import summary

PNG = b"\x89PNG\r\n\x1a\n"


def _check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 300 <= width <= 3000 and 300 <= height <= 3000, (path.name, width, height)
    assert 5_000 < len(data) < 3_000_000, (path.name, len(data))
    from PIL import Image

    with Image.open(path) as image:
        image.verify()  # the whole file decodes


def _plots(run: Path, expected: set[str]) -> None:
    folder = run / "plots"
    assert {p.name for p in folder.glob("*.png")} == expected
    for path in folder.glob("*.png"):
        _check_png(path)
    artifacts = summary(run)["artifacts"]
    assert {v for k, v in artifacts.items() if k.startswith("plot_")} == {
        f"plots/{name}" for name in expected
    }


def test_binary_plots(binary_run: Path) -> None:
    _plots(binary_run, {"curves.png", "confusion_matrix.png", "roc.png", "pr.png"})


def test_image_plots_show_the_most_confidently_wrong(image_run: Path) -> None:
    _plots(image_run, {"curves.png", "confusion_matrix.png", "confident_errors.png"})


def test_regression_plots(regression_run: Path) -> None:
    _plots(regression_run, {"curves.png", "predicted_vs_true.png", "residuals.png"})


@pytest.mark.parametrize("rescale", [True, False])
def test_images_are_shown_as_they_were_before_normalisation(rescale: bool) -> None:
    from easytrain.tracking.plots import displayable

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (4, 3, 5, 5)).astype(np.float64)
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    scaled = pixels / 255 if rescale else pixels
    m, s = np.reshape(mean, (1, 3, 1, 1)), np.reshape(std, (1, 3, 1, 1))
    inputs = (scaled - m) / s
    shown = displayable(
        inputs, {"rescale": rescale, "normalize": {"mean": mean, "std": std, "per": "channel"}}
    )
    assert shown.shape == (4, 5, 5, 3)
    np.testing.assert_allclose(
        shown, np.clip(scaled / (1 if rescale else 255), 0, 1).transpose(0, 2, 3, 1)
    )
