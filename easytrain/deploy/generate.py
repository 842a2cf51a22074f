"""Text from a fine-tuned language model: `easytrain generate`, serve's /generate, the run's samples.

A prompt is a user message: it is rendered as the run's data was (the tokenizer's chat template
with a generation prompt, or the recipe's format string), so the model sees what it was trained
on. Sampling draws from a generator seeded per prompt, so the same seed gives the same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from easytrain.errors import RecipeError


@dataclass(frozen=True)
class Sampling:
    """How new tokens are chosen: greedy at temperature 0, else top-p sampling."""

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0


def prompt_text(tokenizer: Any, prompt: str, chat: dict[str, Any]) -> str:
    """A user's prompt as the model saw prompts in training."""
    if chat.get("template", "auto") != "auto":
        return str(chat["template"]).format(prompt=prompt, system=chat.get("system") or "")
    messages = [{"role": "user", "content": prompt}]
    if chat.get("system"):
        messages.insert(0, {"role": "system", "content": chat["system"]})
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def _causal(model: nn.Module) -> nn.Module:
    """The transformers model (peft-wrapped or not) inside a run's HFCausalModel."""
    from easytrain.models.hf_causal import HFCausalModel

    found = [m for m in model.modules() if isinstance(m, HFCausalModel)]
    if not found:
        raise RecipeError("generate: this run's model is not a language model (data.source chat)")
    return found[0].model


@torch.no_grad()
def generate_text(
    model: nn.Module, tokenizer: Any, text: str, sampling: Sampling, special: bool = False
) -> str:
    """The continuation of text (already rendered), without the text itself."""
    inner: Any = _causal(model).eval()  # a transformers model: generate
    device = next(inner.parameters()).device
    ids = tokenizer(text, add_special_tokens=special, return_tensors="pt")["input_ids"].to(device)
    sample = sampling.temperature > 0
    settings: dict[str, Any] = {
        "max_new_tokens": sampling.max_new_tokens,
        "do_sample": sample,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    if sample:
        settings |= {"temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": 0}
    torch.manual_seed(sampling.seed)  # transformers samples from the global generator
    out = inner.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **settings)
    return str(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)).strip()


def generate_all(
    model: nn.Module, tokenizer: Any, prompts: list[str], chat: dict[str, Any], sampling: Sampling
) -> list[str]:
    """Each prompt's answer; prompt i is drawn with seed + i, so a list gives the same answers
    whatever the other prompts are."""
    special = chat.get("template", "auto") != "auto"
    return [
        generate_text(
            model,
            tokenizer,
            prompt_text(tokenizer, prompt, chat),
            Sampling(sampling.max_new_tokens, sampling.temperature, sampling.top_p, seed),
            special,
        )
        for seed, prompt in enumerate(prompts, start=sampling.seed)
    ]


def run_generator(run_dir: Path) -> tuple[nn.Module, Any, dict[str, Any]]:
    """(model, tokenizer, chat settings) of a finished language-model run."""
    from easytrain.deploy.loaded import load_run
    from easytrain.models.hf_files import load_tokenizer

    loaded = load_run(run_dir)
    chat = loaded.card["preprocessing"].get("encoding", {}).get("chat")
    if chat is None:
        raise RecipeError(f"{run_dir}: not a language-model run (data.source chat); use predict")
    tokenizer = load_tokenizer(folder=run_dir / chat["tokenizer"])
    return loaded.model, tokenizer, chat


def samples(
    model: nn.Module, tokenizer: Any, chat: dict[str, Any], max_new_tokens: int = 48
) -> list[dict[str, str]]:
    """Greedy answers to the run's fixed validation prompts (already rendered)."""
    special = chat.get("template", "auto") != "auto"
    found = []
    for text in chat.get("sample_prompts", []):
        answer = generate_text(model, tokenizer, text, Sampling(max_new_tokens), special)
        found.append({"prompt": text, "generated": answer})
    return found
