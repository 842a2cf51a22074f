"""`data.source: chat`: instruction and chat data for fine-tuning a causal language model.

No torch or transformers here. The recipe may give a plain format string for the prompt
(`"### Question: {prompt}\n### Answer: "`); a Jinja template is code-like (it can reach Python
objects), so a recipe cannot give one: chats are rendered with the tokenizer's own template.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from easytrain.config.data import DataSource, SplitConfig, TablePath


def _format_fields(value: str) -> str:
    """Only `{prompt}` (and `{system}`): attribute or index access in a format string reads
    Python objects, so anything else is refused."""
    try:
        fields = [name for _, name, spec, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise ValueError(f"not a format string ({exc}); name the prompt as {{prompt}}") from None
    unknown = [name for name in fields if name not in ("prompt", "system")]
    if unknown:
        raise ValueError(
            f"the format may name only {{prompt}} and {{system}}, not {{{unknown[0]}}}"
        )
    if "prompt" not in fields:
        raise ValueError("the format must contain {prompt}")
    return value


class ChatData(DataSource):
    """Prompts and answers (or whole chats) to fine-tune a causal language model on."""

    source: Literal["chat"] = "chat"
    """Where examples come from: builtin, table, text, image_folder, torchvision, chat."""
    path: TablePath
    """JSON Lines (or CSV / Parquet) with prompt and completion columns, or a messages column."""
    messages: str = "messages"
    """The column holding a chat: a list of {role, content}; used when the file has it."""
    prompt: str = "prompt"
    """The column holding the instruction (files without a messages column)."""
    completion: str = "completion"
    """The column holding the answer to learn (files without a messages column)."""
    system: str | None = None
    """A system message put before every chat that has none."""
    template: Literal["auto"] | str = "auto"
    """auto: the tokenizer's own chat template; else a format string for the prompt, e.g. '### Question: {prompt}\\n### Answer: ' (the completion and the end-of-text token follow it)."""
    train_on: Literal["answers", "all"] = "answers"
    """answers: the loss counts the assistant's tokens only (the prompt's labels are -100); all: every token."""
    max_length: PositiveInt = 512
    """Tokens per example, at most: longer chats are cut (truncation says from which end)."""
    truncation: Literal["right", "left"] = "right"
    """right: cut the end of a long chat; left: cut its start (keeps the last answer)."""
    packing: bool = False
    """Pack several short examples into one sequence of max_length tokens (fewer padded tokens); attention and positions stay within each example."""
    prompts_to_sample: int = Field(3, ge=0, le=20)
    """Validation prompts whose generated answers the run saves (samples.jsonl) and shows in the report."""
    cache: bool = True
    """Tokenize once through Hugging Face datasets into a memory-mapped Arrow file in cache_dir; a later run with the same data file, tokenizer and token settings reads it instead of tokenizing again."""
    cache_dir: Path | None = None
    """Where the cache lives; default $EASYTRAIN_CACHE or .easytrain-cache/ here."""
    stream: bool | Literal["auto"] = "auto"
    """Read each batch from the cached Arrow file instead of holding every example in memory, for corpora larger than memory (needs cache: true); auto: when the padded token ids and labels would take over a quarter of this machine's memory."""
    split: SplitConfig = SplitConfig(stratify=False)
    """Seeded train / val / test split."""

    @model_validator(mode="after")
    def _stream_reads_the_cache(self) -> ChatData:
        if self.stream is True and not self.cache:
            raise ValueError(
                "stream: true reads the batches from the Arrow cache; set cache: true "
                "(or stream: false to hold the examples in memory)"
            )
        return self

    @field_validator("template")
    @classmethod
    def _safe_template(cls, value: str) -> str:
        if value == "auto":
            return value
        if "{%" in value or "{{" in value:
            raise ValueError(
                "a Jinja template is code-like and is not read from a recipe; give a format "
                "string with {prompt} (e.g. '### Question: {prompt}\\n### Answer: ') or "
                "template: auto (the tokenizer's own chat template)"
            )
        return _format_fields(value)
