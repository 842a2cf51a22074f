"""image_folder: layouts, formats, sizes and every way a folder can be wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from easytrain.config.data import ImageFolderData
from easytrain.data.image_folder import load
from easytrain.errors import RecipeError, RunFailed
from tests.data.makers import color_folder, digits_folder


def config(path: Path, tmp_path: Path, **settings) -> ImageFolderData:
    return ImageFolderData(path=path, cache_dir=tmp_path / "cache", **settings)


def test_every_format_decodes_to_the_channels_asked_for(tmp_path: Path) -> None:
    root = color_folder(tmp_path / "colours")
    rgb = load(config(root, tmp_path))
    assert rgb.x.dtype == np.uint8 and rgb.x.shape == (12, 3, 12, 10)
    assert rgb.classes == ["blue", "red"]
    red = rgb.x[rgb.y == 1].mean(axis=(0, 2, 3))
    assert red[0] > 150 > red[2]  # channel order is RGB, for PNG, JPEG, WebP and BMP alike
    gray = load(config(root, tmp_path, channels=1))
    assert gray.x.shape == (12, 1, 12, 10)
    assert rgb.encoding["image"] == {"channels": 3, "size": [12, 10], "resize": "none"}


def test_image_size_resizes_to_height_width_or_a_square(tmp_path: Path) -> None:
    root = color_folder(tmp_path / "colours", per_class=2)
    assert load(config(root, tmp_path, image_size=[6, 8])).x.shape[1:] == (3, 6, 8)
    assert load(config(root, tmp_path, image_size=7)).x.shape[1:] == (3, 7, 7)


def test_sizes_that_differ_need_image_size(tmp_path: Path) -> None:
    root = color_folder(tmp_path / "colours", per_class=2)
    Image.new("RGB", (30, 20)).save(root / "red" / "big.png")
    with pytest.raises(RecipeError, match=r"images differ in size: .* 20×30.*data.image_size"):
        load(config(root, tmp_path))


def test_separate_val_and_test_folders_are_kept_as_they_are(tmp_path: Path) -> None:
    train = color_folder(tmp_path / "train", per_class=4)
    val = color_folder(tmp_path / "val", per_class=2)
    test = color_folder(tmp_path / "test", per_class=3)
    raw = load(config(train, tmp_path, val=val, test=test))
    assert len(raw.y) == 8 + 4 + 6
    assert list(raw.fixed) == ["val", "test"]
    assert len(raw.fixed["val"]) == 4 and len(raw.fixed["test"]) == 6
    assert "val/" in raw.where(int(raw.fixed["val"][0]))


def test_val_folder_with_a_class_train_lacks_is_refused(tmp_path: Path) -> None:
    train = color_folder(tmp_path / "train", per_class=2)
    val = color_folder(tmp_path / "val", per_class=2)
    (val / "green").mkdir()
    Image.new("RGB", (10, 12)).save(val / "green" / "g.png")
    with pytest.raises(RecipeError, match=r"data.val.*green.*no counterpart"):
        load(config(train, tmp_path, val=val))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def test_bad_files_are_listed_in_one_error(tmp_path: Path) -> None:
    root = digits_folder(tmp_path / "digits", size=8, limit=60)
    files = sorted(root.rglob("*.png"))
    for path in files[:12]:
        _truncate(path)
    (root / "3" / "notes.jpg").write_bytes(b"not an image at all")
    with pytest.raises(RunFailed) as caught:
        load(config(root, tmp_path))
    message = str(caught.value)
    assert message.startswith("13 of 61 image files cannot be read")
    assert "skip_bad_files" in message and "… and 3 more" in message
    assert str(files[0]) in message and "corrupted" in message
    assert message.count("\n") == 11  # the headline, ten files, the count of the rest


def test_skip_bad_files_warns_and_counts(tmp_path: Path) -> None:
    root = digits_folder(tmp_path / "digits", size=8, limit=40)
    _truncate(sorted(root.rglob("*.png"))[5])
    (root / "0" / "empty.png").write_bytes(b"")
    raw = load(config(root, tmp_path, skip_bad_files=True))
    assert len(raw.y) == 39
    (note,) = [n for n in raw.notes if n.startswith("warning")]
    assert "skipped 2 unreadable image(s)" in note and "empty.png" in note
    again = load(config(root, tmp_path, skip_bad_files=True))  # from the cache: still said
    assert any("skipped 2" in n for n in again.notes) and len(again.y) == 39
    with pytest.raises(RunFailed, match="2 of 41 image files cannot be read"):
        load(config(root, tmp_path))  # the cached entry must not hide them from a strict run


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ({}, "has no class folders"),
        ({"loose.png": True}, "holds images but no class folders"),
        ({"cat/1.png": True}, "has one class folder, 'cat'"),
        (
            {"cat/1.png": True, "dog/readme.txt": False},
            r"no JPEG, PNG, WebP or BMP images in .*dog/",
        ),
    ],
)
def test_folder_layout_errors(tmp_path: Path, layout: dict[str, bool], expected: str) -> None:
    root = tmp_path / "images"
    root.mkdir()
    for name, is_image in layout.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if is_image:
            Image.new("L", (4, 4)).save(root / name)
        else:
            (root / name).write_text("hello")
    with pytest.raises(RecipeError, match=expected):
        load(config(root, tmp_path))


def test_path_must_be_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file or folder"):
        ImageFolderData(path=tmp_path / "nope")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(ValueError, match="is a file"):
        ImageFolderData(path=tmp_path / "file.png")
