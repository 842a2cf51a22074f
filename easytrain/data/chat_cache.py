"""The Arrow cache of tokenized chats (data.cache): a data file tokenized once, through Hugging
Face datasets, into a memory-mapped Arrow file that later runs read instead of tokenizing.

An entry is named by a hash of everything that decides its tokens: the data file's content, the
tokenizer's files (every file of the model folder but the weights), the versions of transformers,
tokenizers and datasets, and the settings that change tokens (columns, system, template,
max_length, truncation, train_on). A changed byte in any of them is another name, hence a miss.
The split and packing are not in the name: they are made from the entry's rows every run (from
its small length column), so one entry serves every split and packing of the same tokens.

An entry is chat-<hash>.easytrain.arrow, one row per row of the file (input_ids, labels: int32
lists; prompt: the text before the first answer; length, answers: token counts; lead: whether
the first token is an answer token), and chat-<hash>.easytrain.json, written last: a hit needs
both, so a build that was killed is a miss. A build works in a folder of its own
(.chat-<hash>.<pid>.easytrain.work) that it removes; `easytrain cache clear` removes all three.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from easytrain.config.chat import ChatData
from easytrain.data import cache
from easytrain.data.chat import IGNORE, check_columns, encode_chat, row_chat
from easytrain.data.frames import JSON_LINES, PARQUET, row_locator
from easytrain.errors import RunFailed

ARROW = ".easytrain.arrow"
META = ".easytrain.json"
WORK = ".easytrain.work"
FORMAT = 1  # bump when an entry's columns change: old entries become misses
WEIGHTS = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".h5", ".msgpack", ".onnx")
EXTRA = "pip install 'easytrain[hf]'"
BATCH = 1000  # chats per call of the tokenizing function, and rows per Arrow record batch


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes (read in blocks: any size)."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def tokenizer_hash(folder: Path) -> str:
    """sha256 over the model folder's files but its weights: tokenizer.json, its config, the chat
    template, vocabularies … whatever the tokenizer is loaded from."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.endswith(WEIGHTS):
            digest.update(f"{path.name}\0{file_hash(path)}\0".encode())
    return digest.hexdigest()


def entry_name(data: ChatData, model_folder: Path) -> str:
    """The entry's name: a hash of the data, the tokenizer and the settings that change tokens."""
    import datasets
    import tokenizers
    import transformers

    versions = [transformers.__version__, tokenizers.__version__, datasets.__version__]
    settings = data.model_dump(
        mode="json",
        include={"messages", "prompt", "completion", "system", "template"}
        | {"max_length", "truncation", "train_on"},
    )
    return cache.key("chat", file_hash(data.path), tokenizer_hash(model_folder), versions, settings)


def open_entry(folder: Path, name: str) -> Any | None:
    """The entry's table (a pyarrow Table over the memory-mapped file); None on a miss."""
    from datasets import Dataset

    arrow, meta = folder / f"{name}{ARROW}", folder / f"{name}{META}"
    if not (arrow.is_file() and meta.is_file()):
        return None
    try:
        rows = json.loads(meta.read_text())["rows"]
        table = Dataset.from_file(str(arrow)).data.table
    except Exception:  # a damaged or foreign entry is a miss; the build replaces it
        return None
    return table if table.num_rows == rows else None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No progress bars or info lines from datasets: our log says what happened."""
    import datasets
    from datasets.utils import logging

    level, bars = logging.get_verbosity(), not datasets.are_progress_bars_disabled()
    logging.set_verbosity_error()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if bars:
            datasets.enable_progress_bars()


def _read(path: Path, work: Path) -> Any:
    """The data file as a datasets Dataset (Arrow, converted block by block, in work/)."""
    from datasets import Dataset

    suffix = path.suffix.lower()
    try:
        if suffix in JSON_LINES:
            return Dataset.from_json(str(path), cache_dir=str(work))
        if suffix in PARQUET:
            return Dataset.from_parquet(str(path), cache_dir=str(work))
        sep = "\t" if suffix == ".tsv" else ","
        return Dataset.from_csv(str(path), cache_dir=str(work), sep=sep)
    except Exception as exc:  # pyarrow's and datasets' many errors: the cause, in one line
        cause = exc.__cause__ or exc
        reason = str(cause).strip().splitlines()[0][:300] if str(cause).strip() else type(cause)
        raise RunFailed(f"{path}: cannot read it: {reason}") from None


def _tokenizer_fn(tokenizer: Any, data: ChatData, use_messages: bool) -> Callable[..., dict]:
    """datasets.map's batched function: a batch of file rows → their token columns."""
    where = row_locator(data.path)
    names = [data.messages] if use_messages else [data.prompt, data.completion]

    def tokenize(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        out: dict[str, list] = {k: [] for k in ("input_ids", "labels", "prompt")}
        for j, row in enumerate(indices):
            place = where(row)
            chat = row_chat(data, place, use_messages, {k: batch[k][j] for k in names})
            try:
                ids, labels, prompt = encode_chat(tokenizer, chat, data)
            except RunFailed as exc:
                raise RunFailed(f"{place}: {exc}") from None
            out["input_ids"].append(ids)
            out["labels"].append(labels)
            out["prompt"].append(prompt)
        out["length"] = [len(ids) for ids in out["input_ids"]]
        out["answers"] = [sum(t != IGNORE for t in labels) for labels in out["labels"]]
        out["lead"] = [bool(labels) and labels[0] != IGNORE for labels in out["labels"]]
        return out

    return tokenize


def _features() -> Any:
    from datasets import Features, List, Value

    tokens = List(Value("int32"))
    return Features(
        input_ids=tokens,
        labels=tokens,
        prompt=Value("string"),
        length=Value("int32"),
        answers=Value("int32"),
        lead=Value("bool"),
    )


def build(data: ChatData, tokenizer: Any, folder: Path, name: str) -> Any:
    """Tokenize the file into the entry (datasets.map, batched) and return its table."""
    work = folder / f".{name}.{os.getpid()}{WORK}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        with _quiet():
            rows = _read(data.path, work)
            if len(rows) == 0:
                raise RunFailed(f"{data.path}: the file has no rows")
            use_messages = check_columns(data, list(rows.column_names))
            tokens = rows.map(
                _tokenizer_fn(tokenizer, data, use_messages),
                batched=True,
                batch_size=BATCH,
                with_indices=True,
                remove_columns=rows.column_names,
                features=_features(),
                cache_file_name=str(work / "tokens.arrow"),
                writer_batch_size=BATCH,
                load_from_cache_file=False,
                new_fingerprint=name,  # no hashing of the function (and its tokenizer) by dill
            )
        count = len(tokens)
        del tokens, rows  # their memory maps of work/
        os.replace(work / "tokens.arrow", folder / f"{name}{ARROW}")
        meta = {"format": FORMAT, "rows": count, "data": str(data.path)}
        from easytrain.engine.checkpoint import write_atomic

        write_atomic(folder / f"{name}{META}", lambda f: f.write(json.dumps(meta).encode()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = open_entry(folder, name)
    if table is None:
        raise RunFailed(f"the tokenized chats written to {folder} cannot be read back")
    return table


def tokenized(data: ChatData, tokenizer: Any, model_folder: Path) -> tuple[Any, str]:
    """The chats' token table, from the cache or tokenized into it now, and a line for the log.
    An OSError (a read-only or full disk) is left to the caller."""
    try:
        import datasets  # noqa: F401
    except ImportError:
        raise RunFailed(
            f"data.cache tokenizes through Hugging Face datasets: {EXTRA} (or set data.cache: "
            "false to tokenize in memory)"
        ) from None
    if not data.path.is_file():  # hashing a FIFO would wait forever
        raise RunFailed(f"{data.path} is not a regular file (a FIFO, device or socket)")
    folder = cache.cache_dir(data.cache_dir)
    name = entry_name(data, model_folder)
    table = open_entry(folder, name)
    if table is not None:
        return table, f"chat cache hit: {folder / name}{ARROW} (not tokenized again)"
    table = build(data, tokenizer, folder, name)
    return table, f"tokenized {data.path} once into the chat cache: {folder / name}{ARROW}"
