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


def _delete(data: dict[str, Any], positions: Positions, parts: list[str], origin: str) -> None:
    """`~a.b`: remove a key (or list item) and forget, or shift, the positions under it."""
    node: Any = data
    path: Path_ = ()
    for part in parts:
        index: str | int = int(part) if isinstance(node, list) and part.isdigit() else part
        present = (isinstance(node, dict) and index in node) or (
            isinstance(node, list) and isinstance(index, int) and index < len(node)
        )
        if not present:
            raise RecipeError(
                Problem(
                    f"nothing to delete: '{'.'.join(parts)}' is not in the recipe", where=origin
                )
            )
        parent, node, path = node, node[index], (*path, index)
    del parent[path[-1]]
    depth, moved = len(path), {}
    for known in list(positions):
        if known[:depth] == path:
            del positions[known]
            continue
        item, removed = known[depth - 1] if len(known) >= depth else None, path[-1]
        if (
            isinstance(removed, int)
            and isinstance(item, int)
            and known[: depth - 1] == path[:-1]
            and item > removed
        ):  # later list items move up by one
            moved[(*path[:-1], item - 1, *known[depth:])] = positions.pop(known)
    positions.update(moved)


def apply_override(data: dict[str, Any], positions: Positions, item: str) -> None:
    """Apply one override in place and mark the paths it touched as coming from it."""
    origin = f"override {item}"
    if item.startswith("~"):
        _delete(data, positions, _parse_path(item[1:], origin), origin)
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
        created = isinstance(container, dict) and not isinstance(container.get(key), dict | list)
        if created:
            container[key] = {}
        node = container[key]
        path = (*path, key)
        if created:  # a section the override made is located at the override, not in the file
            positions[path] = origin
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
