"""Image folders with odd entries: a symbolic link that loops back, a class folder whose name is
not UTF-8, and file names carrying terminal escape sequences (printed escaped, never raw)."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from easytrain.errors import ExitCode
from tests.conftest import cli


def _folder(root: Path, classes: tuple[str, ...] = ("cat", "dog"), n: int = 6) -> Path:
    for index, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (8, 8), (index * 200, i * 20, 0)).save(root / name / f"{i}.png")
    return root


def _run(tmp_path: Path, folder: Path) -> tuple[int, str]:
    recipe = tmp_path / "images.yaml"
    recipe.write_text(
        f"data: {{source: image_folder, path: {folder}, cache: false}}\n"
        "model: {type: mlp, hidden: [8]}\n"
        "train: {epochs: 1, tensorboard: false}\nevaluate: {plots: false}\n"
    )
    done = cli("run", str(recipe), "--out", str(tmp_path / "run"))
    return done.returncode, done.stderr


def test_a_symlink_loop_in_an_image_folder_is_refused_naming_it(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "images")
    os.symlink("..", folder / "cat" / "again")  # cat/again/cat/again/… for ever
    code, stderr = _run(tmp_path, folder)
    assert code == ExitCode.BAD_RECIPE, stderr
    assert f"{folder / 'cat' / 'again'}" in stderr and "loops back" in stderr


def test_a_class_folder_whose_name_is_not_utf8_is_refused_escaped(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "images")
    os.mkdir(os.fsencode(folder) + b"/caf\xe9")
    Image.new("RGB", (8, 8)).save(os.fsdecode(os.fsencode(folder) + b"/caf\xe9/1.png"))
    code, stderr = _run(tmp_path, folder)
    assert code == ExitCode.BAD_RECIPE, stderr
    assert "not UTF-8" in stderr and "caf\\xe9" in stderr


def test_escape_sequences_in_file_names_are_printed_escaped(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "images")
    (folder / "cat" / "evil\x1b[2J\x1b[31mred.png").write_bytes(b"not an image")
    code, stderr = _run(tmp_path, folder)
    assert code == ExitCode.RUN_FAILED, stderr
    assert "\x1b" not in stderr
    assert "evil\\x1b[2J\\x1b[31mred.png" in stderr
