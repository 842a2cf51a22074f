"""`easytrain init PATH`: inspect the data, choose, write the recipe, check that it validates."""

from __future__ import annotations

import sys
from pathlib import Path

from easytrain.errors import RecipeError
from easytrain.init.choose import choose
from easytrain.init.inspect import inspect
from easytrain.init.write import render


def init_recipe(
    data: Path, target: str | None, out: Path | None, pretrained: Path | None, force: bool
) -> Path:
    """Write the recipe for `data` to `out` (default ./<data name>.yaml) and return its path."""
    if pretrained is not None:
        _pretrained(pretrained)
    profile = inspect(data, target)
    if pretrained is not None and profile.kind not in ("text", "chat"):
        raise RecipeError(
            f"--pretrained: pretrained Hugging Face models read text; {data} is "
            f"{'an image folder' if profile.kind == 'image_folder' else 'a table without a text column to learn from'}"
        )
    if profile.kind == "table" and not profile.features:
        left = ", ".join(f"{c.name} ({c.kind})" for c in profile.columns)
        raise RecipeError(f"{data}: no column is left to learn from: {left}")
    tree = choose(profile, pretrained)
    path = out or Path(f"{tree['name'].value}.yaml")
    if path.exists() and not force:
        raise RecipeError(f"{path} exists; pass --force to overwrite it, or --out another file")
    header = [
        f"{profile.kind.replace('_', ' ')} → {_goal(profile.task)}: a recipe written by `easytrain init "
        f"{data}` from what the data holds. Each choice is a key with the reason above it; edit "
        "any of them.",
        "",
        f"  easytrain run {path}",
    ]
    text = render(tree, header)
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(text, encoding="utf-8")
    try:
        from easytrain.config.load import load_recipe

        load_recipe(partial)  # what is written must validate as it stands
    except RecipeError as exc:
        partial.unlink()
        raise RecipeError(f"init wrote a recipe that does not validate (a bug): {exc}") from None
    partial.replace(path)
    kinds = ", ".join(f"{c.name}: {c.kind}" for c in profile.columns[:8])
    more = " …" if len(profile.columns) > 8 else ""
    print(
        f"{data}: {profile.kind}, {profile.rows} examples, {profile.task}"
        + (f", target '{profile.target}'" if profile.target else "")
        + (f" ({kinds}{more})" if profile.kind == "table" else ""),
        file=sys.stderr,
    )
    print(f"recipe → {path}; run it with: easytrain run {path}", file=sys.stderr)
    return path


def _goal(task: str) -> str:
    return "fine-tuning a language model" if task == "chat" else task


def _pretrained(folder: Path) -> None:
    from easytrain.registry import default_registry

    if "hf" not in default_registry().names("model"):
        raise RecipeError(
            "--pretrained: this easytrain has no pretrained Hugging Face model type (model.type "
            "hf), so init cannot build on one; leave --pretrained out to train from scratch"
        )
    if not (folder / "config.json").is_file():
        raise RecipeError(
            f"--pretrained: {folder} is not a saved Hugging Face model (no config.json in it)"
        )
