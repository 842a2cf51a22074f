"""Rows of tokenized chats read from the Arrow cache (data/chat_cache.py), a batch at a time.

An ArrowRows stands where a split's (rows, width) int64 tensor of token ids (or labels) would:
indexing it gives exactly the rows that tensor would hold, right-padded (ids with -1, labels
with -100), packed rows included, so the training loop, its length buckets and the evaluation
run as they do on tensors. Only the rows asked for are read from the memory-mapped table; what a
split keeps in memory is two numbers per example (its row in the table, where its packed row
starts), so a corpus larger than memory trains. On CUDA each batch's indices are read back to
the CPU, one wait per batch, small beside a language model's step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from easytrain.data.chat import IGNORE, SEGMENT


def pack_starts(lengths: np.ndarray, width: int) -> np.ndarray:
    """Where each packed row starts among examples of these lengths, and the end: examples in
    order, a new row when the next would not fit (data.chat.pack_rows, on lengths alone)."""
    starts, used = [0], 0
    for i, length in enumerate(lengths.tolist()):
        if used and used + length > width:
            starts.append(i)
            used = 0
        used += length
    starts.append(len(lengths))
    return np.asarray(starts, dtype=np.int64)


class TokenColumn:
    """A list<int32> column of the memory-mapped table as numpy views of its record batches, no
    copy: a row is a slice of its batch's values. (pyarrow's take on a column of many record
    batches cost 5 ms for 8 rows; slicing costs microseconds.)"""

    def __init__(self, table: Any, name: str):
        chunks = table.column(name).chunks
        self.offsets = [chunk.offsets.to_numpy() for chunk in chunks]
        self.values = [chunk.values.to_numpy(zero_copy_only=False) for chunk in chunks]
        sizes = np.asarray([len(chunk) for chunk in chunks], dtype=np.int64)
        self.starts = np.cumsum(sizes) - sizes

    def lists(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lengths, int64 values one after the other) of the table's rows."""
        chunk = np.searchsorted(self.starts, rows, side="right") - 1
        pieces = []
        for c, i in zip(chunk.tolist(), (rows - self.starts[chunk]).tolist(), strict=True):
            offsets = self.offsets[c]
            pieces.append(self.values[c][offsets[i] : offsets[i + 1]])
        lengths = np.asarray([len(piece) for piece in pieces], dtype=np.int64)
        values = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
        return lengths, values.astype(np.int64)


@dataclass(frozen=True, eq=False)
class ChatTable:
    """An entry of the chat cache: its token lists as views, its per-example counts in memory
    (three small numbers per example: all that splitting, packing and bucketing read)."""

    table: Any  # pyarrow Table over the memory-mapped file
    input_ids: TokenColumn
    labels: TokenColumn
    length: np.ndarray  # tokens of each example
    answers: np.ndarray  # label tokens of each example
    lead: np.ndarray  # 1 where an example's first token is a label token

    @classmethod
    def of(cls, table: Any) -> ChatTable:
        def numbers(name: str) -> np.ndarray:
            return table.column(name).to_numpy().astype(np.int64)

        return cls(
            table,
            TokenColumn(table, "input_ids"),
            TokenColumn(table, "labels"),
            numbers("length"),
            numbers("answers"),
            numbers("lead"),
        )


@dataclass(frozen=True, eq=False)
class ArrowRows:
    """One split's token ids (column input_ids) or labels (column labels), indexed like a
    (rows, width) int64 tensor. Row r holds the examples members[starts[r]:starts[r + 1]]
    (table rows); packed rows give each example its number in the ids' high bits and leave its
    first token out of the labels, as data.chat.pack_rows does."""

    source: ChatTable
    column: str  # input_ids | labels
    members: np.ndarray  # int64 table rows, row after row
    starts: np.ndarray  # int64, len(rows) + 1
    packed: bool
    width: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype = torch.int64
    ndim = 2

    def __len__(self) -> int:
        return len(self.starts) - 1

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self), self.width))

    def element_size(self) -> int:
        return 8

    def is_floating_point(self) -> bool:
        return False

    def to(self, device: torch.device | str, **_: Any) -> ArrowRows:
        """The same rows, each batch made on `device`."""
        return replace(self, device=torch.device(device))

    def row_lengths(self) -> np.ndarray:
        """Real tokens of each row (from the table's length column: no token is read)."""
        lengths = self.source.length[self.members]
        rows = np.repeat(np.arange(len(self)), np.diff(self.starts))
        return np.bincount(rows, weights=lengths, minlength=len(self)).astype(np.int64)

    def label_tokens(self) -> torch.Tensor:
        """Label tokens after each row's first position (what LMLoss.items counts), from the
        answers and lead columns: an example's first token is never a target in a packed row,
        and the first position of any row is none either."""
        counted = self.source.answers - self.source.lead
        rows = np.repeat(np.arange(len(self)), np.diff(self.starts))
        per_row = np.bincount(rows, weights=counted[self.members], minlength=len(self))
        return torch.from_numpy(per_row.astype(np.int64))

    def token_lengths(self) -> torch.Tensor | None:
        """As engine.batches.token_lengths gives for a tensor: None when no row is shorter."""
        lengths = torch.from_numpy(np.minimum(self.row_lengths(), self.width))
        return lengths if len(lengths) and bool((lengths < self.width).any()) else None

    def __getitem__(self, index: Any) -> Any:  # a tensor; for [:, :width], ArrowRows
        if isinstance(index, tuple):  # x[:, :width]: the same rows, cut to width
            rows, columns = index
            if (
                rows != slice(None)
                or not isinstance(columns, slice)
                or columns.start
                or columns.step
            ):
                raise IndexError("ArrowRows take [:, :width] and row indices only")
            return replace(self, width=len(range(*columns.indices(self.width))))
        if isinstance(index, int | np.integer):  # one row, as a tensor gives it
            return self[np.asarray([index])][0]
        if isinstance(index, slice):
            picked = np.arange(len(self))[index]
        elif isinstance(index, torch.Tensor):
            picked = index.cpu().numpy()
        else:
            picked = np.asarray(index)
        picked = picked.astype(np.int64)
        picked = np.where(picked < 0, picked + len(self), picked)  # from the end, as tensors do
        if len(picked) and (picked.min() < 0 or picked.max() >= len(self)):
            raise IndexError(f"index out of range for {len(self)} rows")
        return torch.from_numpy(self.rows(picked)).to(self.device)

    def rows(self, picked: np.ndarray) -> np.ndarray:
        """The (len(picked), width) array of the rows picked, read from the table."""
        counts = self.starts[picked + 1] - self.starts[picked]
        before = np.cumsum(counts) - counts
        slots = np.repeat(self.starts[picked] - before, counts) + np.arange(int(counts.sum()))
        column = self.source.input_ids if self.column == "input_ids" else self.source.labels
        lengths, values = column.lists(self.members[slots])
        if self.packed and self.column == "input_ids":  # example number within its row
            number = slots - np.repeat(self.starts[picked], counts)
            values += np.repeat(number, lengths) * SEGMENT
        elif self.packed:  # an example's first token is no target (nothing before it)
            values[(np.cumsum(lengths) - lengths)[lengths > 0]] = IGNORE
        row_of = np.repeat(np.repeat(np.arange(len(picked)), counts), lengths)
        row_tokens = np.bincount(row_of, minlength=len(picked))
        at = np.arange(len(values)) - np.repeat(np.cumsum(row_tokens) - row_tokens, row_tokens)
        keep = at < self.width
        pad = -1 if self.column == "input_ids" else IGNORE
        out = np.full((len(picked), self.width), pad, dtype=np.int64)
        out[row_of[keep], at[keep]] = values[keep]
        return out
