"""The README stays true: set-up commands first, reference generated from the models."""

from __future__ import annotations

from easytrain.config.reference import END, START, render
from tests.conftest import ROOT


def test_readme_opens_with_the_two_setup_commands() -> None:
    first_block = (ROOT / "README.md").read_text().split("```")[1]
    assert "make quickstart" in first_block and "make test" in first_block
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_recipe_reference_matches_the_models() -> None:
    text = (ROOT / "docs" / "reference.md").read_text()
    section = text.split(START)[1].split(END)[0]
    assert section.strip() == render().strip(), "run `make docs` to regenerate the reference"


def test_every_shipped_recipe_is_mentioned_in_the_docs() -> None:
    text = "".join(path.read_text() for path in (ROOT / "docs").glob("*.md"))
    for path in (ROOT / "recipes").glob("*.yaml"):
        assert path.name in text, path.name
