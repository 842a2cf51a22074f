"""The docs stay true: set-up commands first, one page for the README, generated parts current,
every page linked and in the site's nav, one commands table naming every command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from easytrain.config.reference import PAGES as GENERATED
from tests.conftest import ROOT
from tests.docs_pages import COMMAND, PAGES


def test_readme_opens_with_the_two_setup_commands() -> None:
    first_block = (ROOT / "README.md").read_text().split("```")[1]
    assert "make quickstart" in first_block and "make test" in first_block
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_fits_on_one_page() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) < 250


@pytest.mark.parametrize("page", sorted(GENERATED))
def test_generated_parts_are_current(page: str) -> None:
    """The recipe reference matches the models, the shipped-recipe table the recipes."""
    start, end, renderer = GENERATED[page]
    section = (ROOT / page).read_text().split(start)[1].split(end)[0]
    assert section.strip() == renderer().strip(), f"run `make docs` to regenerate {page}"


def test_every_shipped_recipe_is_mentioned_in_the_docs() -> None:
    text = "".join(path.read_text() for path in (ROOT / "docs").glob("*.md"))
    for path in (ROOT / "recipes").glob("*.yaml"):
        assert path.name in text, path.name


def test_every_docs_page_is_in_the_site_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        assert f": {page.name}" in nav, f"{page.name} is not in mkdocs.yml's nav"


def test_readme_and_the_home_page_point_at_every_page() -> None:
    readme, home = (ROOT / "README.md").read_text(), (ROOT / "docs" / "index.md").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in readme, f"README.md has no link to docs/{page.name}"
        assert page.name == "index.md" or f"({page.name})" in home, f"index.md: no {page.name}"


def test_security_page_includes_security_md() -> None:
    """docs/security.md is SECURITY.md's policy, included between the markers at build time."""
    policy = (ROOT / "SECURITY.md").read_text()
    assert "--8<-- [start:policy]" in policy and "--8<-- [end:policy]" in policy
    assert '--8<-- "SECURITY.md:policy"' in (ROOT / "docs" / "security.md").read_text()


SOURCE_PATH = re.compile(r"`((?:easytrain|tests|benchmarks|recipes|docs|examples)/[\w./-]*)`")


def test_source_paths_the_pages_name_exist() -> None:
    """`easytrain/metrics/__init__.py`, `tests/plugin/` …: a moved module fails here."""
    named = [(page, path) for page in PAGES for path in SOURCE_PATH.findall(page.read_text())]
    assert len(named) >= 10
    for page, path in named:
        assert (ROOT / path).exists(), f"{page.name} names {path}, which does not exist"


def test_layout_paragraphs_name_every_package() -> None:
    """README's layout and CONTRIBUTING's name each sub-package and top-level module."""
    readme, contributing = (ROOT / "README.md").read_text(), (ROOT / "CONTRIBUTING.md").read_text()
    packages = [path.parent.name for path in (ROOT / "easytrain").glob("*/__init__.py")]
    modules = [p.name for p in (ROOT / "easytrain").glob("*.py") if not p.name.startswith("_")]
    assert {"config", "deploy", "tune"} <= set(packages) and "cli.py" in modules
    for name in [f"{package}/" for package in packages] + modules:
        assert f"{name}`" in readme, f"README.md's layout does not name easytrain/{name}"
        assert f"`easytrain/{name}`" in contributing, f"CONTRIBUTING.md does not name {name}"


def test_readme_links_point_at_files() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", (ROOT / "README.md").read_text()):
        if "://" not in target:
            assert (ROOT / target).exists(), target


def commands_table(page: Path) -> list[str]:
    """The rows of the page's table whose first column is `easytrain …`."""
    return [row for row in page.read_text().splitlines() if row.startswith("| `easytrain ")]


def test_readme_and_getting_started_show_one_commands_table() -> None:
    readme = [row.replace("](docs/", "](") for row in commands_table(ROOT / "README.md")]
    assert readme == commands_table(ROOT / "docs" / "getting-started.md")


def test_every_command_is_in_the_commands_table() -> None:
    table = " ".join(commands_table(ROOT / "docs" / "getting-started.md"))
    for name, command in COMMAND.commands.items():
        for sub in getattr(command, "commands", {"": None}):
            shown = f"`easytrain {name} {sub}".rstrip()
            assert command.hidden or shown in table, (
                f"{shown[1:]} is missing from the commands table (README.md and getting-started.md)"
            )
