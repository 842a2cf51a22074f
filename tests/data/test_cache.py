"""The decoded-image cache: a hit skips decoding; a touched file or a changed setting is a miss."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from easytrain.cli import app
from easytrain.config.data import ImageFolderData
from easytrain.data import cache, image_folder
from tests.data.makers import digits_folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return digits_folder(tmp_path / "digits", size=8, limit=50)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the decoding passes that image_folder makes."""
    calls: list[int] = []
    real = image_folder.decode_all

    def counting(paths, channels, size, spill=None):
        calls.append(len(paths))
        return real(paths, channels, size, spill)

    monkeypatch.setattr(image_folder, "decode_all", counting)
    return calls


def test_second_load_is_a_memory_mapped_hit(folder: Path, tmp_path: Path, decodes) -> None:
    config = ImageFolderData(path=folder, channels=1, cache_dir=tmp_path / "cache")
    first = image_folder.load(config)
    second = image_folder.load(config)
    assert decodes == [50]
    assert np.array_equal(first.x, second.x) and np.array_equal(first.y, second.y)
    assert any(note.startswith("image cache hit") for note in second.notes)
    assert len(cache.entries(tmp_path / "cache")) == 1


def test_a_touched_file_is_a_miss(folder: Path, tmp_path: Path, decodes) -> None:
    config = ImageFolderData(path=folder, channels=1, cache_dir=tmp_path / "cache")
    image_folder.load(config)
    touched = sorted(folder.rglob("*.png"))[7]
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    image_folder.load(config)
    assert decodes == [50, 50]


def test_a_changed_setting_is_a_miss(folder: Path, tmp_path: Path, decodes) -> None:
    settings = {"path": folder, "cache_dir": tmp_path / "cache"}
    image_folder.load(ImageFolderData(**settings, channels=1))
    image_folder.load(ImageFolderData(**settings, channels=3))
    image_folder.load(ImageFolderData(**settings, channels=1, image_size=6))
    image_folder.load(ImageFolderData(**settings, channels=1, image_size=[6, 6]))  # the same
    assert decodes == [50, 50, 50]


def test_cache_false_never_writes(folder: Path, tmp_path: Path, decodes) -> None:
    config = ImageFolderData(path=folder, cache=False, cache_dir=tmp_path / "cache")
    image_folder.load(config)
    image_folder.load(config)
    assert decodes == [50, 50] and not (tmp_path / "cache").exists()


def test_env_names_the_default_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "elsewhere"))
    assert cache.cache_dir() == tmp_path / "elsewhere"
    assert cache.cache_dir(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv(cache.CACHE_ENV)
    assert cache.cache_dir() == Path(".easytrain-cache")


def test_a_damaged_entry_is_a_miss_and_is_replaced(folder: Path, tmp_path: Path, decodes) -> None:
    config = ImageFolderData(path=folder, cache_dir=tmp_path / "cache")
    image_folder.load(config)
    (entry,) = cache.entries(tmp_path / "cache")
    entry.write_bytes(b"garbage")
    image_folder.load(config)
    image_folder.load(config)
    assert decodes == [50, 50]


def test_cache_clear_removes_only_our_files(folder: Path, tmp_path: Path) -> None:
    where = tmp_path / "cache"
    image_folder.load(ImageFolderData(path=folder, cache_dir=where))
    (where / "keep.txt").write_text("not ours")
    result = CliRunner().invoke(app, ["cache", "clear", "--dir", str(where)])
    assert result.exit_code == 0, result.output
    assert "removed 1 cached file(s)" in result.stderr
    assert [p.name for p in where.iterdir()] == ["keep.txt"]
