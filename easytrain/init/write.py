"""Decisions → a YAML recipe with the reason for each one in a comment above its key.

The tree is plain dicts of `Key`s (or nested dicts for sections); the writer never reorders it, so
the recipe reads in the order the decisions were made: data, preprocess, model, train, evaluate.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

import yaml

WIDTH = 100


@dataclass
class Key:
    value: Any
    why: str = ""
    items: list[str] | None = None  # a list written one item per line, each with this comment
    notes: list[str] = field(default_factory=list)  # comment lines written after the key


def flow(value: Any) -> str:
    """One value in YAML flow style: 0.001, [64, 64], {monitor: val_loss, patience: 5}, 'yes'."""
    text = yaml.safe_dump([value], default_flow_style=True, width=10_000, sort_keys=False)
    return text.strip()[1:-1]


def _comment(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH - len(indent) - 2,
        initial_indent=f"{indent}# ",
        subsequent_indent=f"{indent}# ",
        break_on_hyphens=False,
    )


def _lines(tree: dict[str, Any], depth: int) -> list[str]:
    indent, lines = "  " * depth, []
    for name, node in tree.items():
        if isinstance(node, dict):
            lines += ["", f"{indent}{name}:"] if depth == 0 else [f"{indent}{name}:"]
            lines += _lines(node, depth + 1)
            continue
        if node.why:
            lines += _comment(node.why, indent)
        if node.items is not None:
            lines.append(f"{indent}{name}:")
            for item, why in zip(node.value, node.items, strict=True):
                lines.append(f"{indent}  - {flow(item)}" + (f"  # {why}" if why else ""))
        else:
            lines.append(f"{indent}{name}: {flow(node.value)}")
        for note in node.notes:
            lines += _comment(note, indent)
    return lines


def render(tree: dict[str, Any], header: list[str]) -> str:
    """The recipe file's text: the header comment lines, then every section."""
    top = [line for text in header for line in (_comment(text, "") if text else ["#"])]
    return "\n".join([*top, "", *_lines(tree, 0)]) + "\n"


def plain(tree: dict[str, Any]) -> dict[str, Any]:
    """The tree's values without comments (what the recipe file holds once read)."""
    return {k: plain(v) if isinstance(v, dict) else v.value for k, v in tree.items()}
