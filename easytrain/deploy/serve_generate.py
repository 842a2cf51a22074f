"""`easytrain serve` for a language-model run (data.source chat): POST /generate.

The body names one prompt or several, and how to sample: {"prompt": "…"} or {"prompts": […],
"max_new_tokens": 64, "temperature": 0.7, "top_p": 0.9, "seed": 1}; the answer is
{"generated": [...]}, as `easytrain generate` gives them for the same settings. One generation
runs at a time (a model is not shared across threads).
"""

# No `from __future__ import annotations`: FastAPI reads the request model from the annotation.

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from fastapi import FastAPI


class GenerateRequest(BaseModel):
    """One prompt or a list, and the sampling settings (easytrain generate's options)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(None, min_length=1)
    prompts: list[str] | None = Field(None, min_length=1, max_length=64)
    max_new_tokens: int = Field(128, ge=1, le=4096)
    temperature: float = Field(0.0, ge=0.0, le=10.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int = 0

    @model_validator(mode="after")
    def _one_of(self) -> "GenerateRequest":
        if (self.prompt is None) == (self.prompts is None):
            raise ValueError("give either 'prompt' or 'prompts'")
        return self

    def all_prompts(self) -> list[str]:
        return [self.prompt] if self.prompt is not None else list(self.prompts or [])


def create_generate_app(run_dir: Path) -> "FastAPI":
    from fastapi import FastAPI

    run_dir = Path(run_dir)
    from easytrain.deploy.generate import Sampling, generate_all, run_generator

    model, tokenizer, chat = run_generator(run_dir)
    lock = threading.Lock()
    app = FastAPI(
        title=f"easytrain: {run_dir.name}",
        description="A fine-tuned language model: POST /generate",
    )

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metadata")
    def metadata() -> dict[str, Any]:
        keys = ("template", "system", "max_length", "vocab_size")
        return {"task": "language_model", **{k: chat.get(k) for k in keys}}

    @app.post("/generate")
    def generate(body: GenerateRequest) -> dict[str, list[str]]:
        sampling = Sampling(body.max_new_tokens, body.temperature, body.top_p, body.seed)
        with lock:
            found = generate_all(model, tokenizer, body.all_prompts(), chat, sampling)
        return {"generated": found}

    return app


def is_language_model(run_dir: Path) -> bool:
    """True for a run whose data card holds a chat encoding."""
    import json

    try:
        card = json.loads((Path(run_dir) / "preprocessing.json").read_text())
    except (OSError, ValueError):
        return False
    encoding = (card.get("preprocessing") or {}).get("encoding") or {}
    return isinstance(encoding, dict) and "chat" in encoding
