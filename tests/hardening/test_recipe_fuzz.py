"""Recipe fuzzing: the shipped recipes, mutated, either validate or are refused with exit 2 and a
located message (file:line:col, or the override that is wrong). Never a traceback, a hang, or
memory that grows with what an attacker writes.

Mutations: wrong types, extreme numbers, huge and unicode strings, unknown and misspelt keys,
deleted keys, deep nesting, YAML python tags, anchors/aliases/merges, billion-laughs bombs,
duplicated lines (duplicate keys), truncation, non-UTF-8 bytes and other encodings, and
overrides with the same kinds of values.

The default profile keeps this file near 30 s; EASYTRAIN_FUZZ=long runs 20× the examples (about 4 minutes).
"""

from __future__ import annotations

import os
import re
import signal
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from easytrain.cli import app
from easytrain.config.load import load_recipe
from easytrain.errors import ExitCode, RecipeError
from tests.conftest import RECIPES
from tests.hardening.tally import record

settings.register_profile(
    "fuzz-quick",
    max_examples=100,
    deadline=None,  # timing varies with the machine's load; the hard stop below catches a real hang
    derandomize=True,  # the same cases on every run: CI never meets a case no one has seen
    database=None,  # no .hypothesis/ folder in the tree; a failure prints its reproducer
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("fuzz-long", parent=settings.get_profile("fuzz-quick"), max_examples=2000)
PROFILE = settings.get_profile(f"fuzz-{os.environ.get('EASYTRAIN_FUZZ', 'quick')}")

HANG_S = 30  # no validate may take longer than this, whatever the input
PEAK_BYTES = 200_000_000  # tracemalloc peak of one validate (an alias bomb peaks near 50 MB)
CLI_EVERY = 4  # every 4th example also goes through `easytrain validate` (CliRunner)

BASES = [(path.name, path.read_text(encoding="utf-8")) for path in sorted(RECIPES.glob("*.yaml"))]
EXTREME_NUMBERS = [0, -1, 2**31, 2**63, -(2**63) - 1, 10**100, 1e308, -1e308, 5e-324, -0.0]
EXTREME_NUMBERS += [float("inf"), float("-inf"), float("nan")]
HUGE_SIZES = [1_000, 50_000, 300_000, 2_000_000]  # the last is over the recipe size limit


class Hang(Exception):
    """Raised by the hard deadline: validate did not return in time."""


@contextmanager
def hard_deadline(seconds: float) -> Iterator[None]:
    def expire(*_: Any) -> None:
        raise Hang(f"validate took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def code_strings(canary: Path) -> list[str]:
    """Strings that would run code (touch the canary) if anything evaluated or imported them."""
    touch = f"touch {canary}"
    return [
        f"__import__('os').system('{touch}')",
        f"eval(\"__import__('os').system('{touch}')\")",
        "os:system",
        "builtins:eval",
        "subprocess:Popen",
        "tests.hardening.canary:Boom",
        f"!!python/object/apply:os.system ['{touch}']",
        f"${{{{ __import__('os').system('{touch}') }}}}",
        f"$(touch {canary})",
        f"`{touch}`",
    ]


def python_tags(canary: Path) -> list[str]:
    touch = f"touch {canary}"
    return [
        f'!!python/object/apply:os.system ["{touch}"]',
        f'!!python/object/new:subprocess.Popen [["touch", "{canary}"]]',
        "!!python/name:os.system",
        "!!python/module:os",
        f'!<tag:yaml.org,2002:python/object/apply:os.system> ["{touch}"]',
        "!custom {a: 1}",
        "!!binary aGVsbG8=",
        "!!set {a: null}",
        "!!omap [{a: 1}]",
    ]


def alias_bomb(levels: int, width: int) -> str:
    """One flow sequence whose last item expands to width**levels strings."""
    items = [f"&l0 [{', '.join(['lol'] * width)}]"]
    items += [f"&l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return f"[{', '.join(items)}]"


def misspell(word: str, how: int, at: int) -> str:
    if not word:
        return "x"
    at %= len(word)
    return [
        word[:at] + word[at + 1 :],  # a letter dropped
        word[:at] + word[at] + word[at:],  # a letter doubled
        word[:at] + word[at + 1 : at + 2] + word[at : at + 1] + word[at + 2 :],  # two swapped
        word.upper(),
        word.replace("_", "-"),
    ][how % 5]


def tree_paths(data: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from tree_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from tree_paths(value, (*path, index))


def at(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


@dataclass
class Case:
    base: str
    raw: bytes = b""
    overrides: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


def scalars(canary: Path) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(EXTREME_NUMBERS),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.text(max_size=30),
        st.sampled_from(code_strings(canary)),
        st.builds(lambda c, n: c * n, st.characters(), st.sampled_from(HUGE_SIZES)),
    )


def values(canary: Path) -> st.SearchStrategy[Any]:
    keys = st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none())
    return st.recursive(
        scalars(canary),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=4),
        max_leaves=10,
    )


TREE = ["wrong value", "unknown key", "misspelt key", "deleted key"]
SNIPPETS = ["deep nesting", "python tag", "anchor and alias", "merge key", "alias bomb"]
TEXT = ["duplicate line", "non-UTF-8 bytes", "other encoding", "truncated"]


@st.composite
def cases(draw: st.DrawFn, canary: Path) -> Case:
    base, text = draw(st.sampled_from(BASES))
    case = Case(base)
    data = yaml.safe_load(text)
    snippets: dict[str, str] = {}

    def some_path(kind: type | None = None) -> tuple:
        found = [p for p in tree_paths(data) if kind is None or isinstance(at(data, p), kind)]
        return draw(st.sampled_from(found))

    def put(value: Any) -> None:
        """Set a value somewhere: over an existing one, or under a new key."""
        path = some_path()
        if path and draw(st.booleans()):
            at(data, path[:-1])[path[-1]] = value
        else:
            parent = at(data, some_path(dict))
            parent[draw(st.text(min_size=1, max_size=12))] = value

    def snippet(text: str) -> str:
        token = f"@@P{len(snippets)}@@"
        snippets[token] = text
        return token

    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(TREE * 2 + SNIPPETS))  # the snippets are the slow ones
        case.kinds.append(kind)
        if kind == "wrong value":
            path = some_path()
            if path:
                at(data, path[:-1])[path[-1]] = draw(values(canary))
        elif kind == "unknown key":
            at(data, some_path(dict))[draw(values(canary).filter(_hashable))] = draw(values(canary))
        elif kind == "misspelt key":
            parent = at(data, some_path(dict))
            if parent:
                key = draw(st.sampled_from(list(parent)))
                wrong = misspell(str(key), draw(st.integers(0, 4)), draw(st.integers(0, 99)))
                parent[wrong] = parent.pop(key)
        elif kind == "deleted key":
            path = some_path()
            if path:
                del at(data, path[:-1])[path[-1]]
        elif kind == "deep nesting":
            depth = draw(st.sampled_from([10, 100, 500, 1_000, 5_000, 50_000]))
            opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
            put(snippet(opener * depth + "1" + closer * depth))
        elif kind == "python tag":
            put(snippet(draw(st.sampled_from(python_tags(canary)))))
        elif kind == "anchor and alias":
            value = draw(st.sampled_from(["3", "{epochs: 2}", "[1, 2]", "digits", "&B 1"]))
            put(snippet(f"&A {value}"))
            put(snippet("*A"))
        elif kind == "merge key":
            put(snippet("&M {epochs: 2, batch_size: 8}"))
            put(
                snippet(
                    draw(st.sampled_from(["{<<: *M, epochs: 3}", "{<<: [*M], x: 1}", "{<<: 5}"]))
                )
            )
        elif kind == "alias bomb":
            put(snippet(alias_bomb(draw(st.integers(3, 12)), draw(st.integers(2, 12)))))

    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1 << 30)
    for token, raw in snippets.items():
        text = text.replace(f"'{token}'", raw).replace(token, raw)
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(TEXT))
        case.kinds.append(kind)
        if kind == "duplicate line":
            lines = text.splitlines(keepends=True) or [""]
            i = draw(st.integers(0, len(lines) - 1))
            text = "".join([*lines[: i + 1], *lines[i:]])
        elif kind == "truncated":
            text = text[: draw(st.integers(0, len(text)))]
    raw = text.encode("utf-8")
    for kind in [k for k in case.kinds if k in ("non-UTF-8 bytes", "other encoding")]:
        if kind == "non-UTF-8 bytes":
            i = draw(st.integers(0, len(raw)))
            raw = raw[:i] + draw(st.binary(min_size=1, max_size=8)) + raw[i:]
        else:
            raw = text.encode(draw(st.sampled_from(["utf-16", "utf-32", "utf-8-sig"])))
    case.raw = raw
    case.overrides = draw(st.lists(overrides(data, canary), max_size=3))
    if case.overrides:
        case.kinds.append("overrides")
    return case


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def overrides(data: Any, canary: Path) -> st.SearchStrategy[str]:
    dotted = [
        ".".join(str(p) for p in path)
        for path in tree_paths(data)
        if path and all(isinstance(p, str) for p in path)
    ] or ["train.epochs"]
    raw_values = st.one_of(
        st.sampled_from(
            ["3", "-1", "1e400", ".nan", "[1,", "{a: b}", "~", "''", "!!python/name:os.system"]
        ),
        st.sampled_from(code_strings(canary)),
        st.text(max_size=30),
    )
    keys = st.sampled_from(dotted) | st.text(max_size=20)
    return st.one_of(
        st.builds(lambda k, v: f"{k}={v}", keys, raw_values),
        st.builds(lambda k: f"~{k}", keys),
        st.text(max_size=30),
    )


def located(where: str, path: Path) -> str | None:
    """'line' for file:line:col, 'file' for the file alone, 'override'; None if not located."""
    if where.startswith("override "):
        return "override"
    if re.fullmatch(re.escape(str(path)) + r":\d+:\d+", where):
        return "line"
    return "file" if where == str(path) else None


def validate_in_process(path: Path, overrides: list[str]) -> tuple[str, int]:
    """('valid' | 'refused', tracemalloc peak in bytes); anything but a RecipeError propagates."""
    tracemalloc.start()
    try:
        with hard_deadline(HANG_S):
            try:
                load_recipe(path, overrides)
                outcome = "valid"
            except RecipeError as exc:
                assert exc.exit_code == ExitCode.BAD_RECIPE
                assert exc.problems, "a RecipeError names at least one problem"
                for problem in exc.problems:
                    where = located(problem.where, path)
                    assert where, f"not located: {problem}"
                    record("recipe fuzz: problem located at", where)
                outcome = "refused"
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def validate_cli(path: Path, overrides: list[str]) -> int:
    # `--` ends the options: an override that starts with "-" is then an override, not a flag
    result = CliRunner().invoke(app, ["validate", str(path), "--", *overrides])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        first = result.stderr.splitlines()[0].removeprefix("error: ")
        assert first.startswith((str(path), "override ")), result.stderr
    return result.exit_code


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.slow
def test_fuzzed_recipes_validate_or_are_refused_with_a_located_message(workdir: Path) -> None:
    canary = workdir / "canary"
    path = workdir / "fuzz.yaml"
    seen = {"examples": 0}

    @PROFILE
    @given(cases(canary))
    def check(case: Case) -> None:
        path.write_bytes(case.raw)
        outcome, peak = validate_in_process(path, case.overrides)
        assert peak < PEAK_BYTES, f"validate peaked at {peak / 1e6:.0f} MB"
        assert not canary.exists(), "a recipe ran code"
        seen["examples"] += 1
        if seen["examples"] % CLI_EVERY == 0:
            code = validate_cli(path, case.overrides)
            assert code == (0 if outcome == "valid" else 2)
            record("recipe fuzz: through the CLI", f"exit {code}")
        for kind in dict.fromkeys(case.kinds):
            record(f"recipe fuzz: {kind}", "valid" if outcome == "valid" else "exit 2")
        record("recipe fuzz: all cases", "valid" if outcome == "valid" else "exit 2")
        seen["peak"] = max(seen.get("peak", 0), peak)

    check()
    print(f"recipe fuzz: {seen['examples']} recipes, peak {seen['peak'] / 1e6:.0f} MB")
    assert seen["examples"] >= 50


DIGITS = (RECIPES / "digits.yaml").read_bytes()
BOMB = "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else 'lol'] * 9)}]\n" for i in range(9)
).encode()
NAMED: dict[str, tuple[bytes, str]] = {
    "billion laughs (9^9 strings)": (DIGITS + BOMB, "alias bomb"),
    "a 2 MB recipe": (DIGITS + b"# " + b"x" * 2_000_000 + b"\n", "over 1,000,000 bytes"),
    "100,000-deep flow nesting": (
        DIGITS + b"seed: " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
        "nested too deeply",
    ),
    "1,000-deep block nesting": (
        DIGITS + b"seed:\n" + b"".join(b" " * (i + 1) + b"a:\n" for i in range(1000)),
        "nested too deeply",
    ),
    "a NUL byte": (DIGITS + b"seed: \x00\n", "unacceptable character #x0000"),
    "a Latin-1 byte": (DIGITS + b"name: caf\xe9\n", "not UTF-8"),
    "UTF-16": (DIGITS.decode().encode("utf-16"), "not UTF-8"),
}


@pytest.mark.parametrize("name", list(NAMED))
def test_named_hostile_recipe_is_refused_fast_with_its_line(name: str, workdir: Path) -> None:
    content, expected = NAMED[name]
    path = workdir / "named.yaml"
    path.write_bytes(content)
    started = time.process_time()  # CPU, not wall time: a busy machine must not fail it
    outcome, peak = validate_in_process(path, [])
    assert outcome == "refused"
    assert time.process_time() - started < 5 and peak < PEAK_BYTES
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert expected in result.stderr, result.stderr
    if "MB" not in name:  # the size limit is about the whole file
        assert re.match(rf"error: {re.escape(str(path))}:\d+:\d+ ", result.stderr), result.stderr
    record(f"recipe: {name}", "exit 2")
