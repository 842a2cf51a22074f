"""Command-line overrides: `train.epochs=3 model.hidden=[128,64] ~train.scheduler`."""

from __future__ import annotations

from typing import Any

from easytrain.config.yamlpos import Path_, Positions, load_text
from easytrain.errors import Problem, RecipeError


def _parse_path(dotted: str, origin: str) -> list[str]:
    parts = dotted.split(".")
    if not dotted or any(not part for part in parts):
        raise RecipeError(
            Problem(f"'{dotted}' is not a dotted key like train.epochs", where=origin)
        )
    return parts


def _step(node: Any, part: str, origin: str) -> tuple[Any, str | int]:
    """The container key for `part` in `node`: list indices are numbers."""
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise RecipeError(
                Problem(f"'{part}' is not an index of this list (0–{len(node) - 1})", where=origin)
            )
        return node, int(part)
    if isinstance(node, dict):
        return node, part
    raise RecipeError(
        Problem(f"cannot set '{part}' inside a value that is not a mapping", where=origin)
    )


def apply_override(data: dict[str, Any], positions: Positions, item: str) -> None:
    """Apply one override in place and mark the paths it touched as coming from it."""
    origin = f"override {item}"
    if item.startswith("~"):
        parts = _parse_path(item[1:], origin)
        node: Any = data
        for part in parts[:-1]:
            container, key = _step(node, part, origin)
            node = container[key] if (isinstance(container, list) or key in container) else None
            if node is None:
                raise RecipeError(
                    Problem(f"nothing to delete: '{item[1:]}' is not in the recipe", where=origin)
                )
        container, key = _step(node, parts[-1], origin)
        if isinstance(container, dict) and key not in container:
            raise RecipeError(
                Problem(f"nothing to delete: '{item[1:]}' is not in the recipe", where=origin)
            )
        del container[key]
        return
    dotted, sep, raw = item.partition("=")
    if not sep:
        raise RecipeError(
            Problem(
                "an override is KEY=VALUE (e.g. train.epochs=3) or ~KEY to delete a key",
                where=origin,
            )
        )
    parts = _parse_path(dotted.strip(), origin)
    value, _ = load_text(raw, origin) if raw.strip() else (None, None)
    node = data
    path: Path_ = ()
    for part in parts[:-1]:
        container, key = _step(node, part, origin)
        if isinstance(container, dict) and not isinstance(container.get(key), dict | list):
            container[key] = {}
        node = container[key]
        path = (*path, key)
    container, key = _step(node, parts[-1], origin)
    container[key] = value
    path = (*path, key)
    for known in [p for p in positions if p[: len(path)] == path]:
        del positions[known]
    positions[path] = origin


def apply_overrides(data: dict[str, Any], positions: Positions, overrides: list[str]) -> None:
    problems: list[Problem] = []
    for item in overrides:
        try:
            apply_override(data, positions, item)
        except RecipeError as exc:
            problems.extend(exc.problems)
    if problems:
        raise RecipeError(problems)
