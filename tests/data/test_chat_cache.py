"""The chat cache (data.cache): chats tokenized once through Hugging Face datasets into an Arrow
file, read back by the next run without tokenizing, tokenized again when the data file, the
tokenizer or a token setting changes; rows read from it (data.stream) are the in-memory rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from easytrain.config.chat import ChatData
from easytrain.config.hf import HFConfig
from tests.conftest import cli
from tests.hf_models import chat_rows, chat_setup

pytest.importorskip("datasets")
pytest.importorskip("transformers")

SPLIT = {"val": 0.2, "test": 0.2}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return chat_setup(tmp_path_factory.mktemp("chat-cache"), count=24)


def load(setup: tuple[Path, Path], cache_dir: Path, model: Path | None = None, **keys):
    from easytrain.data import chat

    path, tiny = setup
    settings = {"path": path, "cache_dir": cache_dir, "split": SPLIT, "max_length": 48, **keys}
    return chat.load(ChatData(**settings), HFConfig(name=str(model or tiny)), seed=3)


def rows_of(raw) -> tuple[np.ndarray, np.ndarray]:
    """Every row's ids and labels, train then val then test, however the source holds them."""
    if raw.served is None:
        return raw.x, raw.y
    splits = [raw.served[name] for name in ("train", "val", "test")]
    return (
        np.concatenate([split.x[:].numpy() for split in splits]),
        np.concatenate([split.y[:].numpy() for split in splits]),
    )


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("chat-*.easytrain.arrow"))


@pytest.mark.parametrize("packing", [False, True])
def test_rows_from_the_cache_are_the_in_memory_rows(setup, tmp_path: Path, packing: bool) -> None:
    from easytrain.engine.batches import token_lengths
    from easytrain.models.hf_causal import LMLoss

    memory = load(setup, tmp_path, cache=False, packing=packing)
    assert not entries(tmp_path)  # cache: false writes nothing
    held = load(setup, tmp_path, stream=False, packing=packing)
    served = load(setup, tmp_path, stream=True, packing=packing)
    assert held.served is None and served.served is not None
    for raw in (held, served):
        x, y = rows_of(raw)
        assert x.shape == memory.x.shape and (x == memory.x).all() and (y == memory.y).all()
        assert {k: v.tolist() for k, v in raw.fixed.items()} == {
            k: v.tolist() for k, v in memory.fixed.items()
        }
        assert raw.encoding == memory.encoding  # sample prompts included
        assert [raw.where(i) for i in range(len(x))] == [memory.where(i) for i in range(len(x))]
    n_train = int(memory.fixed["val"][0])
    train = served.served["train"]
    ids, labels = torch.from_numpy(memory.x[:n_train]), torch.from_numpy(memory.y[:n_train])
    picked = torch.tensor([3, 0, 2])
    assert torch.equal(train.x[:, :7][picked], ids[:, :7][picked])  # trimmed batches
    assert torch.equal(train.y[picked], labels[picked])
    assert torch.equal(train.x[-1], ids[-1]) and torch.equal(train.x[1:3], ids[1:3])
    lengths, wanted = token_lengths(train.x), token_lengths(ids)  # the length buckets
    assert (lengths is None and wanted is None) or torch.equal(lengths, wanted)
    assert packing == (wanted is not None)  # these chats are of one length; packed rows vary
    assert torch.equal(LMLoss().items(train.y), LMLoss().items(labels))  # the loss weights
    if packing:
        assert len(train) < (memory.y[:n_train] != -100).any(1).sum() * 2  # rows hold several


def test_a_second_load_reads_the_cache_and_changes_tokenize_again(setup, tmp_path: Path) -> None:
    first = load(setup, tmp_path)
    [entry] = entries(tmp_path)
    assert any(f"once into the chat cache: {entry}" in note for note in first.notes)
    stamp = (entry.stat().st_ino, entry.stat().st_mtime_ns)
    # packing and the split are made from the entry's rows: the same entry serves them
    again = load(setup, tmp_path, packing=True, split={"val": 0.1, "test": 0.0})
    assert any(f"chat cache hit: {entry}" in note for note in again.notes)
    assert entries(tmp_path) == [entry] and (entry.stat().st_ino, entry.stat().st_mtime_ns) == stamp
    assert not list(tmp_path.glob(".*.easytrain.work"))  # no build ran (nor was left)

    load(setup, tmp_path, max_length=40)  # a token setting
    assert len(entries(tmp_path)) == 2

    path, model = setup
    grown = tmp_path / "grown.jsonl"  # the data file's content
    grown.write_text(path.read_text() + json.dumps(chat_rows(25)[-1]) + "\n")
    assert len(load((grown, model), tmp_path).y) == 25
    assert len(entries(tmp_path)) == 3

    other = tmp_path / "other-tokenizer"  # the same model with another chat template
    shutil.copytree(model, other)
    template = other / "chat_template.jinja"
    template.write_text(template.read_text().replace("<|end|> ", "<|end|> <|end|> "))
    changed = load(setup, tmp_path, model=other)
    assert len(entries(tmp_path)) == 4
    assert (changed.x >= 0).sum() > (first.x >= 0).sum()  # its tokens, not the old ones

    done = cli("cache", "clear", "--dir", str(tmp_path))
    assert done.returncode == 0 and "removed 8 cached file(s)" in done.stderr  # .arrow + .json
    assert not entries(tmp_path) and not list(tmp_path.glob("chat-*"))


def test_a_csv_of_prompts_and_a_bad_row_through_the_cache(setup, tmp_path: Path) -> None:
    from easytrain.data import chat
    from easytrain.errors import RunFailed

    _, model = setup
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "question,answer\n"
        + "".join(f"What colour is the {t} ?,The {t} is red .\n" for t in ("moon", "lamp"))
    )
    config = HFConfig(name=str(model))
    settings = {"path": pairs, "prompt": "question", "completion": "answer", "cache_dir": tmp_path}
    settings["split"] = {"val": 0.0, "test": 0.0}
    memory = chat.load(ChatData(cache=False, **settings), config)
    cached = chat.load(ChatData(**settings), config)
    assert (memory.x == cached.x).all() and (memory.y == cached.y).all()
    assert cached.where(1) == f"{pairs}:3"

    bad = tmp_path / "bad.jsonl"
    rows = chat_rows(3)
    rows[1] = {"messages": [{"role": "robot", "content": "hi"}]}
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(RunFailed, match=r"bad.jsonl:2: message 1 has role 'robot'"):
        chat.load(ChatData(path=bad, cache_dir=tmp_path), config)
    assert len(entries(tmp_path)) == 1  # the failed build left no entry
    assert not list(tmp_path.glob(".*.easytrain.work"))


def test_stream_needs_the_cache(setup) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="stream: true reads the batches from the Arrow"):
        ChatData(path=setup[0], cache=False, stream=True)
    assert ChatData(path=setup[0], cache=False).stream == "auto"  # auto: in memory then
