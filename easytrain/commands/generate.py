"""`easytrain generate RUN_DIR "prompt"`: answers from a fine-tuned language model (data.source chat)."""

import json
from pathlib import Path
from typing import Annotated

import typer

from easytrain.commands.common import RunDirArg, exit_codes
from easytrain.errors import RecipeError


def _prompts(prompt: str | None, file: Path | None) -> list[str]:
    """The prompt given, or every line of a JSON Lines file ({"prompt": …}) or text file."""
    if file is None:
        if not prompt:
            raise RecipeError('generate: give a prompt ("…") or --file prompts.jsonl')
        return [prompt]
    if not file.is_file():
        raise RecipeError(f"--file: no such file: {file}")
    found = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if file.suffix.lower() in (".jsonl", ".ndjson"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecipeError(f"{file}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
                raise RecipeError(f'{file}:{number}: a line is {{"prompt": "…"}}')
            line = row["prompt"]
        found.append(line)
    return found


def generate(
    run_dir: RunDirArg,
    prompt: Annotated[str | None, typer.Argument(help="The user's message.")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help='Prompts: JSON Lines ({"prompt": …} a line) or one a line.'),
    ] = None,
    max_new_tokens: Annotated[int, typer.Option(min=1, help="Tokens to generate, at most.")] = 128,
    temperature: Annotated[
        float, typer.Option(min=0.0, help="0: greedy (the most likely token); higher: more varied.")
    ] = 0.0,
    top_p: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Sample from the smallest set of tokens this likely."),
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="The same seed gives the same text.")] = 0,
) -> None:
    """Answer prompts with a fine-tuned language model; one JSON line per prompt."""
    with exit_codes():
        from easytrain.deploy.generate import Sampling, generate_all, run_generator

        prompts = _prompts(prompt, file)
        model, tokenizer, chat = run_generator(run_dir)
        sampling = Sampling(max_new_tokens, temperature, top_p, seed)
        answers = generate_all(model, tokenizer, prompts, chat, sampling)
        for text, answer in zip(prompts, answers, strict=True):
            print(json.dumps({"prompt": text, "generated": answer}, ensure_ascii=False))
