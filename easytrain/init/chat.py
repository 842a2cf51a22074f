"""Chat and instruction files (JSON Lines of messages, or prompt and answer columns).

They fine-tune a pretrained causal language model, so init needs `--pretrained DIR`, and it
writes a `data.source: chat` recipe only where this easytrain has that source; otherwise it says
so plainly and writes nothing.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from easytrain.errors import RecipeError
from easytrain.init.write import Key

# (column the chat source reads, names a file may use for it), for files without messages
PROMPTS = ("prompt", "instruction", "question", "input")
ANSWERS = ("completion", "output", "response", "answer")
WORD = re.compile(r"\w+|[^\w\s]")


def chat_columns(frame: pd.DataFrame) -> dict[str, str] | None:
    """{'messages': column} or {'prompt': column, 'completion': column}; None for other tables."""
    by_name = {str(c).lower(): str(c) for c in frame.columns}
    for name in ("messages", "conversations"):
        if name in by_name:
            return {"messages": by_name[name]}
    prompt = next((by_name[n] for n in PROMPTS if n in by_name), None)
    answer = next((by_name[n] for n in ANSWERS if n in by_name), None)
    return {"prompt": prompt, "completion": answer} if prompt and answer else None


def has_chat_source() -> bool:
    from easytrain.registry import default_registry

    return "chat" in default_registry().names("data")


def refuse(path: Path, columns: dict[str, str]) -> RecipeError:
    found = ", ".join(columns.values())
    return RecipeError(
        f"{path} holds chat or instruction examples (columns {found}); easytrain has no data "
        "source for language-model fine-tuning yet, so init cannot write a recipe for it. init "
        "writes recipes for tables, text tables with a label column, and image folders"
    )


def words_p95(frame: pd.DataFrame, columns: dict[str, str]) -> int:
    """Words per example (the whole chat, or prompt and answer), 95th percentile."""
    texts = frame[list(columns.values())].astype(str).agg(" ".join, axis=1).head(5000)
    return int(texts.map(lambda t: len(WORD.findall(t))).quantile(0.95))


def choose_chat(
    path: Path, rows: int, columns: dict[str, str], words: int, pretrained: Path | None
) -> dict[str, Any]:
    """The data, model and train sections of a chat fine-tuning recipe."""
    if pretrained is None:
        raise RecipeError(
            f"{path}: chat and instruction data fine-tune a pretrained language model; pass "
            "--pretrained DIR (its folder: config.json, model.safetensors, the tokenizer)"
        )
    length = max(128, min(2048, 64 * math.ceil(1.5 * words / 64)))
    data: dict[str, Any] = {
        "source": Key(
            "chat",
            f"{rows} examples of "
            + ("whole chats" if "messages" in columns else "prompts and answers"),
        ),
        "path": Key(str(path), "relative paths start where you run easytrain"),
    }
    for key, column in columns.items():
        data[key] = Key(column, f"the column that holds the {key}")
    data["max_length"] = Key(
        length,
        f"95 % of the examples have at most {words} words; sub-word tokens are about 1.5 per word",
    )
    data["split"] = Key(
        {"val": 0.1, "test": 0.1, "stratify": False},
        "10 % for validation (the best checkpoint), 10 % for the final test",
    )
    model = {
        "type": Key("hf", f"--pretrained {pretrained}: fine-tune that language model"),
        "name": Key(str(pretrained), "the model's folder (config.json, weights, tokenizer)"),
        "trainable": Key(
            "lora",
            "low-rank adapters: a fraction of the memory of a full "
            "fine-tune, and usually as good for instructions",
        ),
    }
    train = {
        "epochs": Key(3, "a few passes: more and a language model starts to repeat its data"),
        "batch_size": Key(8, "examples per step; long chats take memory"),
        "optimizer": Key(
            {"name": "adamw", "lr": 0.0002, "weight_decay": 0.0},
            "the learning rate LoRA adapters are usually trained at",
        ),
        "scheduler": Key({"name": "cosine", "warmup_steps": 10}, "a short warmup, then a decay"),
    }
    return {"data": data, "model": model, "train": train}
