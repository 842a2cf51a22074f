"""Data fuzzing: corrupt images and broken tables give a clear error (exit 1, or 2 for a recipe
problem), or are skipped where the recipe allows it; never a crash inside a C decoder or pandas.

Found here and fixed: torchvision 0.29 segfaults on PNGs whose image data libpng rejects (a third
of randomly corrupted PNGs; data/pngcheck.py refuses them first); decompression bombs decoded to
gigabytes (data/images.py MAX_PIXELS); a million-column CSV header held pandas for minutes
(data/frames.py MAX_COLUMNS); a header-only CSV raised IndexError; an inf in a numeric column
trained, then scored NaN.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, cli
from tests.data.makers import digits_folder
from tests.hardening import corrupt
from tests.hardening.tally import record

FUZZ_PER_BASE = int(os.environ.get("EASYTRAIN_IMAGE_FUZZ", "150"))
COMPARED = int(os.environ.get("EASYTRAIN_IMAGE_FUZZ_COMPARED", "20"))  # forks: ~35 ms each


@pytest.mark.slow
def test_randomly_corrupted_images_decode_or_are_refused_never_crash() -> None:
    """Each base image (PNG rgb/grey/palette/rgba/interlaced, JPEG, WebP, BMP) mutated at random."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.hardening.corrupt", "0", str(FUZZ_PER_BASE), str(COMPARED)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    last = done.stderr.strip().splitlines()[-1:] or ["?"]
    assert done.returncode == 0, f"the decoder crashed (exit {done.returncode}) on {last[0]}"
    counts = json.loads(done.stdout)
    for name, outcome in counts.items():
        assert outcome.get("decoded", 0) + outcome.get("refused", 0) == FUZZ_PER_BASE
        # refused only what torchvision itself cannot decode: no good image is lost
        assert not outcome.get("refused, torchvision alone decodes"), (name, outcome)
        for what, times in outcome.items():  # the variants also given to torchvision alone apart
            compared = ", compared with torchvision alone" if ", " in what else ""
            record(f"image fuzz: corrupted {name}{compared}", what, times)
    print(f"image fuzz: {FUZZ_PER_BASE * len(counts)} corrupted images, no crash")


@cache
def bad_images() -> dict[str, tuple[bytes, str]]:
    """File name → (content, what the error says about it)."""
    return {
        "empty.png": (b"", "empty"),
        "truncated.jpg": (corrupt.encoded("jpg")[:300], "truncated"),
        "text.png": (b"not an image at all\n", "not a JPEG, PNG, WebP or BMP image"),
        "short_rows.png": (corrupt.png_short(), "truncated"),
        "bad_crc.png": (corrupt.png_bad_crc(), "CRC error"),
        "bad_filter.png": (corrupt.png_bad_filter(), "unknown filter type"),
        "claims_60000x60000.png": (corrupt.png_claiming(60_000, 60_000), "decompression bomb"),
        "bomb_12000x12000.png": (corrupt.png_bomb(12_000, 12_000), "decompression bomb"),
        "claims_60000x60000.jpg": (
            corrupt.with_size(corrupt.encoded("jpg"), "jpeg", 60_000, 60_000),
            "decompression bomb",
        ),
        "claims_30000x30000.bmp": (
            corrupt.with_size(corrupt.encoded("bmp"), "bmp", 30_000, 30_000),
            "pixels",
        ),
    }


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real digits (8×8 PNGs, two classes) plus one of each bad file, and a JPEG named .png."""
    root = digits_folder(tmp_path_factory.mktemp("images") / "train", size=8, limit=40)
    for name in [d.name for d in root.iterdir() if d.name not in ("0", "1")]:
        for file in (root / name).iterdir():
            file.unlink()
        (root / name).rmdir()
    for name, (content, _) in bad_images().items():
        (root / "0" / name).write_bytes(content)
    jpeg = corrupt.encoded("jpg", size=(8, 8), mode="L")
    (root / "1" / "really_a_jpeg.png").write_bytes(jpeg)  # the extension lies; the bytes decide
    return root


def _recipe(folder: Path, tmp: Path, skip: bool) -> Path:
    recipe = tmp / "images.yaml"
    recipe.write_text(
        f"name: bad-images\ndata: {{source: image_folder, path: {folder}, channels: 1, "
        f"skip_bad_files: {str(skip).lower()}, cache: false}}\n"
        "train: {epochs: 1, tensorboard: false}\nevaluate: {plots: false}\n"
    )
    return recipe


@pytest.mark.slow
def test_bad_image_files_fail_the_run_each_named_with_its_reason(
    bad_folder: Path, tmp_path: Path
) -> None:
    started = time.perf_counter()
    done = cli("run", str(_recipe(bad_folder, tmp_path, skip=False)), "--dry-run")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{len(bad_images())} of " in done.stderr and "skip_bad_files" in done.stderr
    for name, (_, reason) in bad_images().items():
        line = next((x for x in done.stderr.splitlines() if name in x), "")
        assert reason in line, f"{name}: {line or done.stderr}"
        record(f"image file: {name}", "exit 1, named")
    assert "really_a_jpeg.png" not in done.stderr
    assert time.perf_counter() - started < 60, "the bombs were refused, not decoded"


@pytest.mark.slow
def test_bad_image_files_are_skipped_when_the_recipe_allows_it(
    bad_folder: Path, tmp_path: Path
) -> None:
    done = cli("run", str(_recipe(bad_folder, tmp_path, skip=True)), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert f"skipped {len(bad_images())} unreadable image(s)" in done.stderr
    for name in bad_images():
        record(f"image file: {name}", "skipped (skip_bad_files)")


def test_the_server_path_refuses_a_bomb_without_decoding_it() -> None:
    """decode_bytes is what `easytrain serve` and `predict` call on uploaded bytes."""
    import torch

    from easytrain.data.images import MAX_PIXELS, try_decode

    for content in (corrupt.png_claiming(60_000, 60_000), corrupt.png_short()):
        started = time.perf_counter()
        reason = try_decode(torch.frombuffer(bytearray(content), dtype=torch.uint8), 3, (8, 8))
        assert isinstance(reason, str) and time.perf_counter() - started < 1
    assert MAX_PIXELS < 60_000 * 60_000


GOOD = "a,b,c,label\n" + "".join(
    f"{x:.3f},{i % 5},{'xyz'[i % 3]},{'yn'[i % 2]}\n"
    for i, x in enumerate(np.random.default_rng(0).normal(size=60))
)
ROWS = GOOD.split("\n", 1)[1]
TABLES: dict[str, tuple[bytes, int, str]] = {
    "a good table (control)": (GOOD.encode(), 0, ""),
    "a ragged row (too many fields)": (
        (GOOD + "1,2,x,y,EXTRA,MORE\n" + ROWS).encode(),
        1,
        "Expected 4 fields in line 62, saw 6",
    ),
    "a short row (missing fields are empty cells)": ((GOOD + "1.5,2\n").encode(), 0, ""),
    "a Latin-1 line": ((GOOD + "1,2,caf\xe9,y\n").encode("latin-1"), 1, ".csv:62 is not UTF-8"),
    "mixed encodings": (
        GOOD.encode() + "1,2,café,y\n".encode() + "1,2,caf\xe9,n\n".encode("latin-1"),
        1,
        ".csv:63 is not UTF-8",
    ),
    "UTF-16": (GOOD.encode("utf-16"), 1, ".csv:1 is not UTF-8"),
    "a UTF-8 byte-order mark": (b"\xef\xbb\xbf" + GOOD.encode(), 0, ""),
    "embedded NULs in cells": (GOOD.replace("x", "x\x00x", 7).encode(), 0, ""),
    "a NUL in the header": (GOOD.replace("a,b", "a\x00,b", 1).encode(), 0, ""),
    "binary garbage": (
        bytes(np.random.default_rng(1).integers(0, 256, 4000, np.uint8)),
        1,
        "not UTF-8",
    ),
    "an empty file": (b"", 1, "No columns to parse"),
    "a header and no rows": (b"a,b,c,label\n", 1, "has no values"),
    "an unclosed quote": ((GOOD + '1,"2,x,y\n' + ROWS).encode(), 1, "EOF inside string"),
    "a duplicated column name": (GOOD.replace("a,b,c", "a,a,c", 1).encode(), 1, "appears twice"),
    "a duplicated target column (pandas' label.1 would leak it)": (
        b"a,label,c,label\n" + ROWS.encode(),
        1,
        "'label' appears twice",
    ),
    "1e308 in a numeric column (finite, inf as float32)": (
        (GOOD + "1e308,1,x,y\n").encode(),
        1,
        "data.csv:62: column 'a' holds 1e+308, beyond the range of 32-bit floats",
    ),
    "3.5e38 in a numeric column": (
        (GOOD + "1,3.5e38,x,y\n").encode(),
        1,
        "data.csv:62: column 'b' holds 3.5e+38, beyond the range",
    ),
    "inf in a numeric column": ((GOOD + "inf,1,x,y\n").encode(), 1, "not a finite number"),
    "a 5,000-digit number": ((GOOD + "9" * 5000 + ",2,x,y\n").encode(), 1, "holds inf"),
    "a 20,000-column header": (
        (",".join(f"c{i}" for i in range(20_000)) + ",label\n1" + ",1" * 20_000 + "\n").encode(),
        1,
        "20,001 columns",
    ),
    "a 20,000-column header behind a quoted line break": (
        (
            '"a\nb",' + ",".join(f"c{i}" for i in range(20_000)) + ",label\n1" + ",1" * 20_001
        ).encode(),
        1,
        "20,002 columns",
    ),
    "a million-column header": (
        (",".join(f"c{i}" for i in range(1_000_000)) + ",label\n").encode(),
        1,
        "up to 10,000 columns",
    ),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_a_broken_table_gives_a_clear_error(name: str, tmp_path: Path) -> None:
    content, code, expected = TABLES[name]
    table = tmp_path / "data.csv"
    table.write_bytes(content)
    recipe = tmp_path / "table.yaml"
    recipe.write_text(f"name: fz\ndata: {{source: table, path: {table}, target: label}}\n")
    started = time.perf_counter()
    result = cli("run", str(recipe), "--dry-run")  # reads, splits and encodes the data
    assert result.returncode == code, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert time.perf_counter() - started < 20
    record(f"table: {name}", f"exit {code}")


def test_a_text_file_with_a_bad_line_names_it(tmp_path: Path) -> None:
    table = tmp_path / "texts.csv"
    table.write_bytes(b"text,label\n" + b"good day,y\nbad day,n\n" * 10 + b"caf\xe9 au lait,y\n")
    recipe = tmp_path / "text.yaml"
    recipe.write_text(f"name: fz\ndata: {{source: text, path: {table}, target: label}}\n")
    result = cli("run", str(recipe), "--dry-run")
    assert result.returncode == 1 and "texts.csv:22 is not UTF-8" in result.stderr, result.stderr
    record("text table: a Latin-1 line", "exit 1")


def test_json_lines_wide_after_a_narrow_first_line_are_refused(tmp_path: Path) -> None:
    """pandas makes a column of every key of any line: a narrow first line said nothing about
    the next one (20,000 keys), nor about many lines of a few new keys each."""
    wide = json.dumps({f"c{i}": 1 for i in range(20_000)})
    many = "".join(json.dumps({f"k{i}": 1, f"m{i}": 2, "label": "y"}) + "\n" for i in range(6000))
    for name, text in (("one wide line", wide + "\n"), ("6,000 lines of new keys", many)):
        table = tmp_path / "data.jsonl"
        table.write_text(json.dumps({"a": 1, "label": "y"}) + "\n" + text)
        recipe = tmp_path / "table.yaml"
        recipe.write_text(f"name: fz\ndata: {{source: table, path: {table}, target: label}}\n")
        started = time.perf_counter()
        result = cli("run", str(recipe), "--dry-run")
        assert result.returncode == 1, result.stderr
        assert "up to 10,000 columns" in result.stderr and "Traceback" not in result.stderr
        assert time.perf_counter() - started < 20
        record(f"table: JSON Lines, a narrow first line then {name}", "exit 1")


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.timeout(60)
def test_a_fifo_as_the_recipe_or_the_data_is_refused(tmp_path: Path) -> None:
    """Opening a FIFO for reading waits for a writer: forever, with no error."""
    recipe = _fifo(tmp_path / "recipe.yaml")
    for command in (["validate", str(recipe)], ["run", str(recipe), "--dry-run"]):
        result = cli(*command)
        assert result.returncode == 2, result.stderr
        assert "not a regular file" in result.stderr and "Traceback" not in result.stderr
    record("recipe: a FIFO as the recipe file (validate, run)", "exit 2", 2)
    for suffix in (".csv", ".jsonl"):
        data = _fifo(tmp_path / f"data{suffix}")
        recipe = tmp_path / f"table{suffix}.yaml"
        recipe.write_text(f"name: fz\ndata: {{source: table, path: {data}, target: label}}\n")
        result = cli("run", str(recipe), "--dry-run")
        assert result.returncode == 1, result.stderr
        assert f"{data} is not a regular file" in result.stderr
    record("table: a FIFO as data.path (CSV, JSON Lines)", "exit 1", 2)
