"""Chats from the Arrow cache, split and packed as data.chat does in memory, then held in memory
or served from the memory-mapped table a batch at a time (data.stream).

The split is drawn over the examples with an answer token (the table's answers column), with
the same seed and the same code as the in-memory path, and packing cuts rows from the length
column alone, so both paths give the same rows, bit for bit: ArrowRows read them on demand, and
held in memory they are those rows, read once.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from easytrain.config.chat import ChatData
from easytrain.config.hf import HFConfig
from easytrain.data.bundle import Split
from easytrain.data.chat import dropped, located, settings, summary
from easytrain.data.chat_rows import ArrowRows, ChatTable, pack_starts
from easytrain.data.frames import row_locator
from easytrain.data.raw import RawData
from easytrain.data.split import NAMES, split_indices
from easytrain.data.stream import STREAM_ABOVE, physical_memory


def should_stream(data: ChatData, rows: int, width: int) -> tuple[bool, str]:
    """(stream?, why) for data.stream: true, false or auto (by the padded arrays' size)."""
    need = rows * width * 8 * 2  # int64 ids and labels
    if data.stream != "auto":
        return bool(data.stream), "data.stream: true"
    memory = physical_memory()
    why = f"padded, they would take {need / 2**30:.1f} GB of {memory / 2**30:.0f} GB memory"
    return need > STREAM_ABOVE * memory, why


def _layout(
    table: ChatTable, data: ChatData, seed: int
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(kept examples, each split's members, where each of its rows starts): the seeded split
    over the examples with an answer token, the training rows packed if asked."""
    kept = np.flatnonzero(table.answers > 0)
    parts = split_indices(RawData(None, np.zeros(len(kept)), "language_model"), data.split, seed)
    members = {name: kept[parts[name]] for name in NAMES}
    starts = {name: np.arange(len(members[name]) + 1) for name in NAMES}
    if data.packing:
        starts["train"] = pack_starts(table.length[members["train"]], data.max_length)
    return kept, members, starts


def from_cache(data: ChatData, model: HFConfig, tokenizer: Any, seed: int) -> RawData:
    """The chats of the cached token table (tokenized into it first on a miss), split, packed."""
    from easytrain.data.chat_cache import tokenized
    from easytrain.models.hf_files import model_folder

    arrow, cache_note = tokenized(data, tokenizer, model_folder(model))
    table = ChatTable.of(arrow)
    where = row_locator(data.path)
    kept, members, starts = _layout(table, data, seed)

    def rows(name: str, column: str, width: int = 1) -> ArrowRows:
        packed = data.packing and name == "train"
        return ArrowRows(table, column, members[name], starts[name], packed, width)

    width = max(1, *(int(max(rows(n, "input_ids").row_lengths(), default=0)) for n in NAMES))
    sizes = [len(starts[name]) - 1 for name in NAMES]
    stream, why = should_stream(data, sum(sizes), width)
    if stream:  # a (0, width) stand-in for x: the splits are served (raw.served)
        raw = RawData(
            np.empty((0, width), np.int64), np.zeros(sum(sizes), np.int8), "language_model"
        )
        pairs = {n: (rows(n, "input_ids", width), rows(n, "labels", width)) for n in NAMES}
        raw.served = {n: Split(*cast(tuple[Any, Any], pair)) for n, pair in pairs.items()}
        cache_note += f"; batches are read from it ({why})"
    else:
        held = [(rows(n, "input_ids", width), rows(n, "labels", width)) for n in NAMES]
        x = np.concatenate([ids.rows(np.arange(len(ids))) for ids, _ in held])
        y = np.concatenate([labels.rows(np.arange(len(labels))) for _, labels in held])
        raw = RawData(x, y, "language_model")
    raw.description = str(data.path)
    raw.notes = [*dropped(data, arrow.num_rows, kept, where), cache_note]
    raw.fixed = {
        "val": np.arange(sizes[0], sizes[0] + sizes[1]),
        "test": np.arange(sizes[0] + sizes[1], sum(sizes)),
    }
    sample = members["val"] if len(members["val"]) else members["train"]
    prompts = arrow.column("prompt").take(sample[: data.prompts_to_sample]).to_pylist()
    raw.encoding = {"chat": settings(tokenizer, data, model, prompts)}
    answers = int(table.answers[kept].sum())
    if data.packing:  # a packed example's first token is no target
        answers -= int(table.lead[members["train"]].sum())
    tokens = int(table.length[kept].sum())
    raw.notes.append(
        summary(data, model, tokenizer, len(kept), tokens, answers)
        + (f", packed into {sizes[0]} rows" if data.packing else "")
    )
    order = np.concatenate([members[name] for name in NAMES])
    raw.locate = located(order, len(members["train"]), sizes[0], data.packing, where)
    return raw
