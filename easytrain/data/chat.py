"""`data.source: chat`: prompts and answers, or whole chats, tokenized for a causal language model.

Each example becomes token ids and labels of the same length: the labels are the ids where the
loss counts (the assistant's tokens, or every token with train_on: all) and -100 elsewhere. A
chat is rendered once with the tokenizer's chat template; the assistant's spans are found by
rendering each prefix of the chat (a template renders a prefix as a prefix of the whole) and the
tokens inside them by their character offsets. The split is made here, before packing, so that
val and test hold whole examples, one per row.

Packed rows carry each token's example number in the ids' high bits (token + example << 32):
the model (models.hf_causal) gives every example its own positions and attention, so a packed
row computes what its examples would alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from easytrain.config.chat import ChatData
from easytrain.config.hf import HFConfig
from easytrain.data.frames import read_table, row_locator
from easytrain.data.raw import RawData
from easytrain.data.split import split_indices
from easytrain.errors import RecipeError, RunFailed

IGNORE = -100  # labels the loss skips
SEGMENT = 1 << 32  # packed rows: id + example number × SEGMENT
TOKENIZER_DIR = "tokenizer"
ROLES = ("system", "user", "assistant")


def _messages(value: Any, where: str) -> list[dict[str, str]]:
    """A chat cell as a list of {role, content}, or one clear line naming the row."""
    if isinstance(value, np.ndarray):
        value = list(value)
    if not isinstance(value, list) or not value:
        raise RunFailed(f"{where}: messages must be a non-empty list of {{role, content}}")
    chat = []
    for i, message in enumerate(value):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise RunFailed(f"{where}: message {i + 1} needs a 'content' string")
        if message.get("role") not in ROLES:
            raise RunFailed(
                f"{where}: message {i + 1} has role {message.get('role')!r}; "
                f"roles are {', '.join(ROLES)}"
            )
        chat.append({"role": message["role"], "content": message["content"]})
    if not any(m["role"] == "assistant" for m in chat):
        raise RunFailed(f"{where}: the chat has no assistant message to learn")
    return chat


def read_chats(data: ChatData) -> tuple[list[list[dict[str, str]]], list[str]]:
    """Every row of the file as a chat, and where each row is (file:line)."""
    frame = read_table(data.path)
    where = row_locator(data.path)
    chats, places = [], []
    use_messages = check_columns(data, list(frame.columns))
    for row, record in frame.iterrows():
        place = where(int(row))
        chats.append(row_chat(data, place, use_messages, record))
        places.append(place)
    if not chats:
        raise RunFailed(f"{data.path}: the file has no rows")
    return chats, places


def check_columns(data: ChatData, columns: list[str]) -> bool:
    """True when the file has a messages column; else it must have prompt and completion."""
    if data.messages in columns:
        return True
    if not {data.prompt, data.completion} <= set(columns):
        raise RecipeError(
            f"{data.path}: no column '{data.messages}' (data.messages) and no "
            f"'{data.prompt}'/'{data.completion}' columns (data.prompt, data.completion); "
            f"the columns are: {', '.join(map(str, columns))}"
        )
    return False


def row_chat(data: ChatData, place: str, use_messages: bool, record: Any) -> list[dict[str, str]]:
    """One row of the file (a mapping of column → cell) as a chat: its messages, or its prompt
    and completion, with data.system put first; a RunFailed naming the row when it is not one."""
    if use_messages:
        chat = _messages(record[data.messages], place)
    else:
        prompt, answer = record[data.prompt], record[data.completion]
        if pd.isna(prompt) or pd.isna(answer) or not str(answer).strip():
            raise RunFailed(f"{place}: prompt and completion must both be given")
        chat = [
            {"role": "user", "content": str(prompt)},
            {"role": "assistant", "content": str(answer)},
        ]
    if data.system and chat[0]["role"] != "system":
        chat = [{"role": "system", "content": data.system}, *chat]
    return chat


def render(tokenizer: Any, chat: list[dict[str, str]], data: ChatData) -> tuple[str, list]:
    """The chat's text and the character spans of its answers [(start, end), …]."""
    if data.template != "auto":
        system = next((m["content"] for m in chat if m["role"] == "system"), "")
        prompt = "\n".join(m["content"] for m in chat if m["role"] == "user")
        answer = next(m["content"] for m in chat if m["role"] == "assistant")
        head = data.template.format(prompt=prompt, system=system)
        return head + answer + (tokenizer.eos_token or ""), [(len(head), None)]
    if not getattr(tokenizer, "chat_template", None):
        raise RecipeError(
            "data.template: auto uses the tokenizer's chat template, and this model has none; "
            "give a format string, e.g. template: '### Question: {prompt}\\n### Answer: '"
        )
    text = tokenizer.apply_chat_template(chat, tokenize=False)
    spans = []
    for i, message in enumerate(chat):
        if message["role"] != "assistant":
            continue
        head = tokenizer.apply_chat_template(chat[:i], tokenize=False, add_generation_prompt=True)
        upto = tokenizer.apply_chat_template(chat[: i + 1], tokenize=False)
        if not (text.startswith(upto) and upto.startswith(head)):
            raise RunFailed(
                "the tokenizer's chat template does not render a chat's start as the start of "
                "the whole chat, so the answers cannot be told apart; set data.template"
            )
        spans.append((len(head), len(upto)))
    return text, spans


def encode_chat(tokenizer: Any, chat: list, data: ChatData) -> tuple[list[int], list[int], str]:
    """(ids, labels, prompt text) of one chat, cut to data.max_length from data.truncation's end."""
    text, spans = render(tokenizer, chat, data)
    spans = [(start, len(text) if end is None else end) for start, end in spans]
    special = data.template != "auto"  # a chat template writes its own special tokens
    found = tokenizer(text, add_special_tokens=special, return_offsets_mapping=True)
    ids = list(found["input_ids"])
    labels = []
    for token, (start, _) in zip(ids, found["offset_mapping"], strict=True):
        inside = any(a <= start < b for a, b in spans)
        labels.append(token if data.train_on == "all" or inside else IGNORE)
    cut = slice(0, data.max_length) if data.truncation == "right" else slice(-data.max_length, None)
    return ids[cut], labels[cut], text[: spans[0][0]]


def pack_rows(examples: list[tuple[list[int], list[int]]], width: int) -> list[tuple[list, list]]:
    """Examples in order into rows of at most width tokens; each id carries its example number."""
    rows: list[tuple[list, list]] = []
    ids: list[int] = []
    labels: list[int] = []
    count = 0
    for example_ids, example_labels in examples:
        if ids and len(ids) + len(example_ids) > width:
            rows.append((ids, labels))
            ids, labels, count = [], [], 0
        ids += [token + count * SEGMENT for token in example_ids]
        # an example's first token is never a target (nothing before it): not even of the
        # example before it in the row
        labels += [IGNORE, *example_labels[1:]]
        count += 1
    if ids:
        rows.append((ids, labels))
    return rows


def matrices(rows: list[tuple[list[int], list[int]]]) -> tuple[np.ndarray, np.ndarray]:
    """(ids right-padded with -1, labels right-padded with -100), both (n, longest) int64."""
    longest = max(len(ids) for ids, _ in rows)
    x = np.full((len(rows), longest), -1, dtype=np.int64)
    y = np.full((len(rows), longest), IGNORE, dtype=np.int64)
    for i, (ids, labels) in enumerate(rows):
        x[i, : len(ids)], y[i, : len(labels)] = ids, labels
    return x, y


def load(data: ChatData, model: HFConfig, save_to: Path | None = None, seed: int = 0) -> RawData:
    """The chats tokenized by the model's tokenizer, split, the training rows packed if asked:
    through the Arrow cache (data.cache; data/chat_split.py), else here, in memory."""
    from easytrain.models.hf_files import load_tokenizer

    tokenizer = load_tokenizer(model)
    raw, warning = None, None
    if data.cache:
        from easytrain.data.chat_split import from_cache

        try:
            raw = from_cache(data, model, tokenizer, seed)
        except OSError as exc:  # a read-only or full disk: tokenized in memory, as without
            if data.stream is True:
                raise RunFailed(f"data.stream: the chat cache cannot be written ({exc})") from None
            warning = f"warning: chat cache not written ({exc}); tokenized in memory"
    if raw is None:
        raw = in_memory(data, model, tokenizer, seed)
        raw.notes[:0] = [warning] if warning else []
    if save_to is not None:
        tokenizer.save_pretrained(save_to)
    return raw


def in_memory(data: ChatData, model: HFConfig, tokenizer: Any, seed: int) -> RawData:
    """Every chat read with pandas and tokenized now, into (rows, longest) arrays."""
    chats, places = read_chats(data)
    encoded = []
    for chat, place in zip(chats, places, strict=True):
        try:
            encoded.append(encode_chat(tokenizer, chat, data))
        except RunFailed as exc:
            raise RunFailed(f"{place}: {exc}") from None
    kept = np.asarray(
        [i for i, (_, labels, _) in enumerate(encoded) if any(t != IGNORE for t in labels)],
        dtype=np.int64,
    )
    notes = dropped(data, len(encoded), kept, lambda i: places[i])
    parts = split_indices(RawData(None, np.zeros(len(kept)), "language_model"), data.split, seed)
    pairs = [(encoded[kept[i]][0], encoded[kept[i]][1]) for i in range(len(kept))]
    train = [pairs[i] for i in parts["train"]]
    train_rows = pack_rows(train, data.max_length) if data.packing else train
    held = [pairs[i] for i in np.concatenate([parts["val"], parts["test"]])]
    x, y = matrices(train_rows + held)
    n_train, n_val = len(train_rows), len(parts["val"])
    fixed = {
        "val": np.arange(n_train, n_train + n_val),
        "test": np.arange(n_train + n_val, len(x)),
    }
    order = kept[np.concatenate([parts["train"], parts["val"], parts["test"]])]
    raw = RawData(x, y, "language_model", description=str(data.path), fixed=fixed, notes=notes)
    val = parts["val"] if len(parts["val"]) else parts["train"]
    prompts = [encoded[kept[i]][2] for i in val[: data.prompts_to_sample]]
    raw.encoding = {"chat": settings(tokenizer, data, model, prompts)}
    raw.notes.append(
        summary(data, model, tokenizer, len(kept), int((x >= 0).sum()), int((y != IGNORE).sum()))
        + (f", packed into {n_train} rows" if data.packing else "")
    )
    raw.locate = located(order, len(train), n_train, data.packing, lambda i: places[i])
    return raw


def dropped(data: ChatData, count: int, kept: np.ndarray, where: Any) -> list[str]:
    """The warning for chats left without an answer token by data.max_length, if any."""
    lost = np.setdiff1d(np.arange(count), kept)
    if not len(lost):
        return []
    return [
        f"warning: {len(lost)} chat(s) have no answer token left within "
        f"data.max_length {data.max_length} and are left out (first: {where(int(lost[0]))})"
    ]


def summary(
    data: ChatData, model: HFConfig, tokenizer: Any, chats: int, tokens: int, answers: int
) -> str:
    """The log line that says what was tokenized."""
    return (
        f"tokenized {chats:,} chats with {type(tokenizer).__name__} from {model.name}: "
        f"{tokens:,} tokens, {answers:,} of them answers"
    )


def located(order: np.ndarray, examples: int, rows: int, packed: bool, where: Any) -> Any:
    """Example i of the splits (train rows first) → where it is in the file. order: the file
    row of each example, split after split; packed training rows are named by number."""
    if packed:
        return lambda i: (
            where(int(order[i - rows + examples])) if i >= rows else f"packed row {i + 1}"
        )
    return lambda i: where(int(order[i]))


def settings(tokenizer: Any, data: ChatData, model: HFConfig, prompts: list[str]) -> dict[str, Any]:
    """The data card's `chat` encoding: how to make prompts for generate, and sample prompts."""
    from easytrain.models.hf_files import load_config, pad_id

    return {
        "tokenizer": TOKENIZER_DIR,
        "template": data.template,
        "system": data.system,
        "max_length": data.max_length,
        "pad_token_id": pad_id(tokenizer),
        "eos_token_id": tokenizer.eos_token_id,
        "vocab_size": len(tokenizer),
        "model_config": load_config(model).to_dict(),
        "sample_prompts": prompts,
    }


def without_model(data: ChatData) -> RawData:
    """The registry's loader: chat data needs a language model's tokenizer."""
    raise RecipeError(
        "data.source chat is tokenized by a language model's own tokenizer: "
        "use it with model.type: hf (a causal language model)"
    )
