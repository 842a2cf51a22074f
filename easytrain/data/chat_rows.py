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


@dataclass(frozen=True, eq=False)
class ArrowRows:
    """One split's token ids (column input_ids) or labels (column labels), indexed like a
    (rows, width) int64 tensor. Row r holds the examples members[starts[r]:starts[r + 1]]
    (table rows); packed rows give each example its number in the ids' high bits and leave its
    first token out of the labels, as data.chat.pack_rows does."""

    table: Any  # pyarrow Table over the memory-mapped entry
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
        lengths = self.table.column("length").to_numpy()[self.members].astype(np.int64)
        rows = np.repeat(np.arange(len(self)), np.diff(self.starts))
        return np.bincount(rows, weights=lengths, minlength=len(self)).astype(np.int64)

    def label_tokens(self) -> torch.Tensor:
        """Label tokens after each row's first position (what LMLoss.items counts), from the
        answers and lead columns: an example's first token is never a target in a packed row,
        and the first position of any row is none either."""
        answers = self.table.column("answers").to_numpy().astype(np.int64)
        counted = answers - self.table.column("lead").to_numpy(zero_copy_only=False)
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
        if isinstance(index, slice):
            picked = np.arange(len(self))[index]
        elif isinstance(index, torch.Tensor):
            picked = index.cpu().numpy()
        else:
            picked = np.asarray(index)
        return torch.from_numpy(self.rows(picked.astype(np.int64))).to(self.device)

    def rows(self, picked: np.ndarray) -> np.ndarray:
        """The (len(picked), width) array of the rows picked, read from the table."""
        import pyarrow as pa
        import pyarrow.compute as pc

        counts = self.starts[picked + 1] - self.starts[picked]
        before = np.cumsum(counts) - counts
        slots = np.repeat(self.starts[picked] - before, counts) + np.arange(int(counts.sum()))
        taken = self.table.column(self.column).take(pa.array(self.members[slots]))
        lists = taken.combine_chunks() if taken.num_chunks else pa.array([], taken.type)
        lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
        values = lists.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
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
