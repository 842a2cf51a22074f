"""Streamed 8-bit images: the same inputs as the in-memory path, made a batch at a time."""

from __future__ import annotations

import numpy as np
import torch

from easytrain.config.preprocess import PreprocessConfig
from easytrain.data.inputs import image_info, model_inputs
from easytrain.data.stream import ImageStream, should_stream, worker_count

NAMES = ("train", "val", "test")


def test_a_stream_makes_exactly_the_in_memory_inputs() -> None:
    images = np.random.default_rng(0).integers(0, 256, (40, 3, 5, 4), dtype=np.uint8)
    rows = np.random.default_rng(1).permutation(40)
    parts = {"train": np.sort(rows[:30]), "val": np.sort(rows[30:35]), "test": np.sort(rows[35:])}
    in_memory, info = model_inputs(images, parts, PreprocessConfig())
    assert image_info(images, parts["train"], PreprocessConfig()) == info
    source = torch.from_numpy(images)
    for name in NAMES:
        stream = ImageStream(source, torch.from_numpy(parts[name]), info, workers=0)
        assert stream.shape == in_memory[name].shape and len(stream) == len(parts[name])
        assert torch.equal(stream[:], in_memory[name])
        picked = torch.tensor([4, 0, 2])
        assert torch.equal(stream[picked], in_memory[name][picked])


def test_training_batches_come_through_worker_processes_in_order() -> None:
    images = np.arange(20 * 4, dtype=np.uint8).reshape(20, 1, 2, 2)
    info = {"dtype": "float32", "rescale": False}
    stream = ImageStream(torch.from_numpy(images), torch.arange(20), info, workers=1)
    epochs = stream.loader(pin_memory=False)
    for seed in (0, 1):  # one DataLoader, its worker kept from one epoch to the next
        order = torch.randperm(20, generator=torch.Generator().manual_seed(seed))
        batches = list(order.split(6))
        got = list(epochs.epoch(batches))
        assert [len(b) for b in got] == [6, 6, 6, 2]
        assert all(torch.equal(b, stream[i]) for b, i in zip(got, batches, strict=True))


def test_auto_streams_only_what_would_not_fit() -> None:
    small = np.zeros((10, 1, 8, 8), dtype=np.uint8)
    huge = np.broadcast_to(np.zeros(1, dtype=np.uint8), (10**7, 3, 1000, 1000))  # no memory used
    assert should_stream("auto", small)[0] is False
    stream, why = should_stream("auto", huge)
    assert stream is True and "GB" in why
    assert should_stream(True, small)[0] is True and should_stream(False, huge)[0] is False
    assert worker_count(3) == 3 and 1 <= worker_count("auto") <= 4


def test_images_past_the_spill_size_decode_into_a_mapped_file(tmp_path) -> None:
    """A folder bigger than memory still decodes: the tensor is a file the system can page out,
    unlinked at once, and it holds what decoding into memory holds (bad files left out)."""
    from easytrain.data.images import decode_all
    from tests.data.makers import digits_folder

    files = sorted(digits_folder(tmp_path / "digits", size=8, limit=60).rglob("*.png"))
    (files[3].parent / "broken.png").write_bytes(b"not an image")
    files.insert(4, files[3].parent / "broken.png")
    in_memory = decode_all(files, 1, None)
    spilled = decode_all(files, 1, None, spill=(tmp_path / "spill", 0))
    assert spilled.good == in_memory.good and len(spilled.bad) == len(in_memory.bad) == 1
    assert torch.equal(spilled.images, in_memory.images) and len(spilled.images) == 60
    assert list((tmp_path / "spill").iterdir()) == []  # nothing left behind
    assert decode_all(files, 1, None, spill=(tmp_path / "spill", 10**9)).images.is_contiguous()
