"""The docs stay true: set-up commands first, the reference generated from the models, and every
recipe and command a page shows validated by easytrain itself.

Pages are README.md, CONTRIBUTING.md and docs/*.md. A ```yaml block with a top-level `data:` or
`name:` is a whole recipe and is validated as it is (absent data paths get empty stand-ins, as in
tests/config/test_shipped_recipes.py); any other yaml block is a section and is validated merged
into one of a few base recipes. Every `easytrain …` line of a ```bash block (and every `$ easytrain
…` line of a ```text block) is parsed by the command's own click parser; one that names a recipe
that exists is validated with its overrides. Inline `easytrain …` spans (the commands tables) must
name real commands and options.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import typer.main
import yaml

from easytrain.cli import app
from easytrain.config.load import load_recipe
from easytrain.config.reference import PAGES as GENERATED
from easytrain.config.templates import shipped
from easytrain.errors import RecipeError
from tests.config.test_shipped_recipes import stand_ins
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


def test_readme_links_point_at_files() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", (ROOT / "README.md").read_text()):
        if "://" not in target:
            assert (ROOT / target).exists(), target


# --- recipes shown on the pages ---------------------------------------------------------------

YAML_BLOCKS = code_blocks("yaml")
BASES = {  # what a section is merged into: data of each kind the sections need
    "digits": {"data": {"source": "builtin", "name": "digits"}},
    "table": {"data": {"source": "table", "path": "data/houses.csv", "target": "price"}},
    "table, categories as indices": {
        "data": {"source": "table", "path": "data/titanic.csv", "target": "Survived",
                 "categorical": "index"}
    },
    "text": {"data": {"source": "text", "path": "data/reviews.csv", "text": "review",
                      "target": "sentiment"}},
    "image folder": {
        "data": {"source": "image_folder", "path": "data/pets", "channels": 3, "image_size": 64}
    },
}  # fmt: skip


def validate(recipe: dict, tmp_path: Path, allow_code: bool = False) -> object:
    """load_recipe on the recipe written to a file, with stand-ins for absent data and baselines."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    overrides = stand_ins(path, tmp_path)
    baseline = (recipe.get("evaluate") or {}).get("baseline")
    if baseline and not (ROOT / baseline).exists():
        metrics = {name: 0.5 for name in recipe["evaluate"].get("max_drop", {})}
        summary = tmp_path / "baseline" / "summary.json"
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps({"metrics": {"val": metrics, "test": metrics}}))
        overrides.append(f"evaluate.baseline={summary}")
    return load_recipe(path, overrides, allow_code=allow_code)


@pytest.mark.filterwarnings("ignore:.*validated with an empty stand-in")
@pytest.mark.parametrize("where, body", YAML_BLOCKS, ids=[where for where, _ in YAML_BLOCKS])
def test_yaml_example_is_a_valid_recipe(
    where: str, body: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # examples name data paths relative to the project folder
    example = yaml.safe_load(body)
    assert isinstance(example, dict) and example, f"{where}: not a recipe or a section of one"
    custom = ":" in str((example.get("model") or {}).get("type", ""))
    if custom:  # a module by import path: refused without --allow-code, as the page says
        with pytest.raises(RecipeError, match="allow-code"):
            validate({**BASES["digits"], **example}, tmp_path / "refused")
        return
    if {"data", "name"} & example.keys():
        validate(example, tmp_path)
        return
    problems = []
    for base_name, base in BASES.items():
        try:
            validate({**base, **example}, tmp_path / re.sub(r"\W+", "-", base_name))
            return
        except RecipeError as exc:
            problems.append(f"with {base_name} data: {exc}")
    pytest.fail(f"{where}: the section is valid with no base recipe:\n" + "\n".join(problems))


QUOTED = re.compile(
    r"(this is|From) `(recipes/[\w.-]+\.yaml)`(?:(?!\n\n).)*?\n\n```yaml\n(.*?)\n```", re.S
)


def contained(shown: object, real: object) -> bool:
    """Whether what a page shows of a recipe is in it: mappings may leave keys out."""
    if isinstance(shown, dict) and isinstance(real, dict):
        return all(key in real and contained(value, real[key]) for key, value in shown.items())
    return shown == real


def test_quoted_recipes_match_the_shipped_files() -> None:
    quoted = [match for page in PAGES for match in QUOTED.findall(page.read_text(encoding="utf-8"))]
    assert any(kind == "this is" for kind, _, _ in quoted)
    for kind, recipe, body in quoted:
        shown, real = yaml.safe_load(body), yaml.safe_load((ROOT / recipe).read_text())
        assert shown == real if kind == "this is" else contained(shown, real), recipe


def test_yaml_examples_are_found() -> None:
    assert len(YAML_BLOCKS) >= 15
    assert any("name: digits" in body for _, body in YAML_BLOCKS)


SYNTAX = {"python": ast.parse, "json": json.loads, "toml": tomllib.loads}
OTHER_BLOCKS = [(lang, *block) for lang in SYNTAX for block in code_blocks(lang)]


@pytest.mark.parametrize("lang, where, body", OTHER_BLOCKS, ids=[w for _, w, _ in OTHER_BLOCKS])
def test_python_json_and_toml_examples_parse(lang: str, where: str, body: str) -> None:
    SYNTAX[lang](body)


# --- commands shown on the pages --------------------------------------------------------------

COMMAND = typer.main.get_command(app)
MAKE_TARGETS = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M))


def command_lines() -> list[tuple[str, list[str]]]:
    """(page:line, words) of each command line shown in bash blocks and `$ ` lines of text."""
    lines = []
    for lang in ("bash", "text"):
        for where, body in code_blocks(lang):
            pending = ""  # a quoted argument may run over several lines
            for line in body.replace("\\\n", " ").splitlines():
                if lang == "text" and not (pending or line.startswith("$ ")):
                    continue
                pending += ("\n" if pending else "") + line.removeprefix("$ ")
                try:
                    words = shlex.split(pending, comments=True)
                except ValueError:  # no closing quotation yet
                    continue
                pending = ""
                if words:
                    lines.append((where, words))
    return lines


COMMAND_LINES = command_lines()


def easytrain_args(words: list[str]) -> list[str] | None:
    """The arguments after `easytrain` (or `python -m easytrain`, `torchrun … -m easytrain`)."""
    if words[0] == "easytrain":
        return words[1:]
    for i, word in enumerate(words[:-1]):
        if word == "-m" and words[i + 1] == "easytrain":
            return words[i + 2 :]
    return None


def resolve(args: list[str]) -> tuple[typer.main.TyperCommand, list[str], str]:
    """The (sub)command the arguments name, the rest of them, and its name."""
    command, name = COMMAND, "easytrain"
    while hasattr(command, "commands") and not (args and args[0].startswith("-")):
        # a group: the next word names a subcommand (or is an option of the group's own)
        assert args and args[0] in command.commands, f"{name}: no command {args[:1]}"
        name += f" {args[0]}"
        command, args = command.commands[args[0]], args[1:]
    return command, args, name


@pytest.mark.parametrize(
    "where, words", COMMAND_LINES, ids=[f"{w}:{' '.join(ws)[:60]}" for w, ws in COMMAND_LINES]
)
def test_command_example_is_real(where: str, words: list[str], monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    if words[0] == "make":
        assert set(words[1:]) <= MAKE_TARGETS, f"{where}: no make target {words[1:]}"
        return
    if words[:2] == ["python", "-m"] and words[2].startswith("benchmarks."):
        assert (ROOT / f"{words[2].replace('.', '/')}.py").exists(), where
        return
    args = easytrain_args(words)
    if args is None:
        return  # curl, torchrun's own options …: not easytrain's to check
    command, rest, name = resolve(args)
    try:
        params = command.make_context(name, rest).params
    except Exception as exc:  # click's UsageError, vendored by typer
        pytest.fail(
            f"{where}: `{' '.join(words)}`: {getattr(exc, 'format_message', exc.__str__)()}"
        )
    recipe = params.get("recipe")
    if recipe and Path(recipe).exists():
        load_recipe(recipe, list(params.get("overrides") or []), allow_code=params["allow_code"])
    if name == "easytrain recipes copy":
        assert params["name"].removesuffix(".yaml") in shipped(), where


def test_command_examples_are_found() -> None:
    shown = [easytrain_args(words) for _, words in COMMAND_LINES]
    assert sum(args is not None for args in shown) >= 25
    assert {args[0] for args in shown if args} >= {"run", "validate", "tune", "predict", "serve"}


INLINE = re.compile(r"`(easytrain (?:[^`\\]|\\.)+)`")


def test_commands_in_text_name_real_commands_and_options() -> None:
    for page in PAGES:
        for span in INLINE.findall(page.read_text(encoding="utf-8")):
            words = span.replace("\\|", "|").replace("[", " ").replace("]", " ").split()
            command, rest, name = resolve(words[1:])
            options = {"--help", *(o for p in command.params for o in p.opts + p.secondary_opts)}
            for word in rest:
                if word.startswith("--"):
                    assert word.split("=")[0] in options, f"{page.name}: `{span}`: no {word}"


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
