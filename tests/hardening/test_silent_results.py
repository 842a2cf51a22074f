"""Inputs that trained or answered without an error but wrongly: 16-bit PNGs cut to their low
byte, the first row of a headerless CSV taken for a header, a duplicated target column."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from easytrain.data.pngcheck import SIGNATURE
from tests.conftest import cli, summary
from tests.hardening.corrupt import chunk
from tests.hardening.tally import record


def png16(pixels: np.ndarray) -> bytes:
    """A 16-bit PNG: grey for (h, w), RGB for (h, w, 3); Pillow writes no 16-bit colour."""
    height, width = pixels.shape[:2]
    colour = 0 if pixels.ndim == 2 else 2
    big_endian = pixels.astype(">u2")
    rows = b"".join(b"\x00" + big_endian[i].tobytes() for i in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    return (
        SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _noise_below(high: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """high in the top byte, noise in the low one: what a 16-bit sensor gives."""
    return (high << 8) + rng.integers(0, 256, shape)


@pytest.mark.parametrize("shape", [(6, 5), (6, 5, 3)], ids=["grey", "rgb"])
def test_16_bit_pngs_are_scaled_not_cut_to_the_low_byte(shape: tuple, tmp_path: Path) -> None:
    from easytrain.data.images import decode_one

    pixels = _noise_below(0xA0, shape, np.random.default_rng(0))
    path = tmp_path / "deep.png"
    path.write_bytes(png16(pixels))
    channels = 1 if len(shape) == 2 else 3
    decoded = decode_one(path, channels, None)
    expected = torch.from_numpy((pixels >> 8).astype(np.uint8))
    expected = expected[None] if channels == 1 else expected.permute(2, 0, 1)
    assert decoded.dtype == torch.uint8 and torch.equal(decoded, expected)
    record(f"image file: a 16-bit {'grey' if channels == 1 else 'RGB'} PNG", "scaled to 8 bits")


@pytest.mark.slow
def test_16_bit_classes_that_differ_in_the_high_byte_train_predict_and_serve(
    tmp_path: Path,
) -> None:
    """Two classes whose images differ only in the high byte (the low byte is noise in both):
    cut to the low byte they were noise and training 'succeeded' at chance."""
    from easytrain.deploy.loaded import load_run
    from easytrain.deploy.predictor import Predictor
    from easytrain.deploy.serve import ImageRequest, model_inputs

    rng = np.random.default_rng(1)
    for name, high in (("dark", 0x30), ("light", 0xB0)):
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(24):
            image = tmp_path / "images" / name / f"{i}.png"
            image.write_bytes(png16(_noise_below(high, (8, 8), rng)))
    recipe = tmp_path / "deep.yaml"
    recipe.write_text(
        f"name: deep\nseed: 0\ndata: {{source: image_folder, path: {tmp_path / 'images'}, "
        "channels: 1, cache: false}\nmodel: {type: mlp, hidden: [16]}\n"
        "train: {epochs: 8, tensorboard: false, optimizer: {lr: 0.01}}\n"
        "evaluate: {plots: false}\n"
    )
    run = tmp_path / "run"
    result = cli("run", str(recipe), "--out", str(run))
    assert result.returncode == 0, result.stderr
    assert summary(run)["metrics"]["test"]["accuracy"] == 1.0
    files = [tmp_path / "images" / "dark" / "0.png", tmp_path / "images" / "light" / "0.png"]
    out = tmp_path / "predictions.json"
    assert cli("predict", str(run), *map(str, files), "--out", str(out)).returncode == 0
    assert [row["class"] for row in json.loads(out.read_text())] == ["dark", "light"]
    predictor = Predictor(load_run(run))
    request = ImageRequest(images=[base64.b64encode(f.read_bytes()) for f in files])
    served = model_inputs(predictor, request)  # what `serve` feeds the model
    assert torch.equal(served, predictor.prepare.images(files, ["a", "b"]))
    record("image file: 16-bit PNG classes differing in the high byte", "trained, test accuracy 1")


def test_predict_keeps_the_first_row_of_a_headerless_csv(tmp_path: Path) -> None:
    """digits has no feature names: a CSV of numbers alone lost its first row to the header."""
    from tests.hardening.conftest import FINISHED

    recipe = tmp_path / "finished.yaml"
    recipe.write_text(FINISHED.replace("formats: [pt2, state_dict]", "formats: [state_dict]"))
    run = tmp_path / "run"
    assert cli("run", str(recipe), "--out", str(run), "train.epochs=1").returncode == 0
    from sklearn.datasets import load_digits

    rows = load_digits().data[:5]
    table = tmp_path / "rows.csv"
    table.write_text("".join(",".join(f"{v:g}" for v in row) + "\n" for row in rows))
    out = tmp_path / "predictions.json"
    result = cli("predict", str(run), str(table), "--out", str(out))
    assert result.returncode == 0, result.stderr
    answers = json.loads(out.read_text())
    assert [a["input"] for a in answers] == [f"{table}:{i}" for i in range(1, 6)]
    headed = tmp_path / "headed.csv"
    headed.write_text(",".join(f"p{i}" for i in range(64)) + "\n" + table.read_text())
    again = tmp_path / "headed.json"
    assert cli("predict", str(run), str(headed), "--out", str(again)).returncode == 0
    assert [a["class"] for a in json.loads(again.read_text())] == [a["class"] for a in answers]
    record("table: a headerless CSV given to predict (no feature names)", "every row predicted")
