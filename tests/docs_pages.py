"""The pages of the documentation and their fenced code blocks, for the docs tests."""

from __future__ import annotations

import re

import typer.main

from easytrain.cli import app
from tests.conftest import ROOT

PAGES = [
    path
    for path in (
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        *sorted((ROOT / "docs").glob("*.md")),
    )
    if path.exists()
]
FENCE = re.compile(r"^(\s*)```([\w-]*)\s*$")


def code_blocks(lang: str) -> list[tuple[str, str]]:
    """(page:line, body) of every fenced block of that language on every page."""
    found = []
    for page in PAGES:
        inside, indent, body, start = None, "", [], 0
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            fence = FENCE.match(line)
            if inside is None and fence:
                inside, indent, body, start = fence.group(2), fence.group(1), [], number
            elif inside is not None and line.strip() == "```":
                if inside == lang:
                    found.append((f"{page.relative_to(ROOT)}:{start}", "\n".join(body)))
                inside = None
            elif inside is not None:
                body.append(line.removeprefix(indent))
    return found


COMMAND = typer.main.get_command(app)  # the click command behind `easytrain`
