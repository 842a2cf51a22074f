"""Every `easytrain …` command a docs page shows is real.

Each `easytrain …` line of a ```bash block (and each `$ easytrain …` line of a ```text block) is
parsed by the command's own click parser; one that names a recipe that exists is validated with
its overrides. `make` targets and `python -m benchmarks.…` modules exist. Inline `easytrain …`
spans (the commands tables) name real commands and options.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main

from easytrain.config.load import load_recipe
from easytrain.config.templates import shipped
from tests.conftest import ROOT
from tests.docs_pages import COMMAND, PAGES, code_blocks

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
