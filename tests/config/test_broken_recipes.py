"""`easytrain validate` refuses every broken recipe with exit 2 and a located, traceback-free message.

The corpus lives in tests/config/broken/. Each file starts with one or more header lines:

    # expect: <text the error output must contain>   (e.g. ":14:5 train.optimizer.lr:")
    # absent: <text the error output must not contain>  (optional)
    # xfail: <why>                                    (optional: a known package bug)

Line numbers in the expectations count those header lines too. Cases that cannot carry a header
(an empty file, bytes that are not UTF-8) are generated into tmp_path from GENERATED below.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from easytrain.cli import app

BROKEN = Path(__file__).parent / "broken"
RECIPES = Path(__file__).parents[2] / "recipes"

# name → (file content, expected substrings); written by the `generated` fixture.
GENERATED: dict[str, tuple[bytes, list[str]]] = {
    "empty.yaml": (b"", ["empty.yaml", "the recipe is empty"]),
    "blank.yaml": (b"  \n\n   \n", ["blank.yaml", "the recipe is empty"]),
    "not_utf8.yaml": (
        b"data:\n  name: digits\nname: caf\xe9\n",  # Latin-1 'é'
        ["not_utf8.yaml:3:10", "not UTF-8", "0xe9"],
    ),
    "utf16.yaml": ("data: {name: digits}\n".encode("utf-16"), ["utf16.yaml:1:1", "not UTF-8"]),
    "nul_byte.yaml": (b"data: {name: digits}\nseed: \x00\n", ["nul_byte.yaml", "YAML error"]),
}


def _headers(text: str, tag: str) -> list[str]:
    prefix = f"# {tag}:"
    return [
        line.removeprefix(prefix).strip() for line in text.splitlines() if line.startswith(prefix)
    ]


def _corpus() -> list[pytest.ParameterSet]:
    cases = []
    for path in sorted(BROKEN.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        marks = [
            pytest.mark.xfail(reason=reason, strict=True) for reason in _headers(text, "xfail")
        ]
        expected = (_headers(text, "expect"), _headers(text, "absent"))
        cases.append(pytest.param(path, expected, marks=marks, id=path.stem))
    return cases


CORPUS = _corpus()
runner = CliRunner()


def _validate(*args: str):
    result = runner.invoke(app, ["validate", *args])
    # An uncaught exception (a crash, not a refusal) must show up as a failure here.
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _assert_refused(result, expected: list[str]) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == "", "nothing may be printed to stdout for a refused recipe"
    assert result.stderr.startswith("error: "), result.stderr
    missing = [text for text in expected if text not in result.output]
    assert not missing, f"missing {missing} in:\n{result.output}"


def test_corpus_is_large_and_every_case_says_what_it_expects():
    assert len(CORPUS) + len(GENERATED) >= 30
    for case in CORPUS:
        path, (expected, _) = case.values
        assert expected, f"{path.name} has no '# expect:' line"
        assert path.read_text(encoding="utf-8").startswith("# expect:"), path.name


def test_control_a_shipped_recipe_is_valid():
    """Guards the harness: a good recipe exits 0, so exit 2 below really means 'refused'."""
    result = _validate(str(RECIPES / "iris.yaml"))
    assert result.exit_code == 0, result.output
    assert "iris.yaml: valid" in result.stderr
    assert "name: iris" in result.stdout


@pytest.mark.parametrize(("path", "expected"), CORPUS)
def test_broken_recipe_is_refused(path: Path, expected: tuple[list[str], list[str]]):
    present, absent = expected
    result = _validate(str(path))
    _assert_refused(result, present)
    shown = [text for text in absent if text in result.output]
    assert not shown, f"{shown} must not be in:\n{result.output}"


@pytest.fixture
def generated(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, list[str]]:
    content, expected = GENERATED[request.param]
    path = tmp_path / request.param
    path.write_bytes(content)
    return path, expected


@pytest.mark.parametrize("generated", sorted(GENERATED), indirect=True)
def test_generated_broken_recipe_is_refused(generated: tuple[Path, list[str]]):
    path, expected = generated
    _assert_refused(_validate(str(path)), expected)


def test_missing_recipe_file_is_refused(tmp_path: Path):
    _assert_refused(_validate(str(tmp_path / "nope.yaml")), ["nope.yaml", "no such recipe file"])


def test_many_errors_are_all_reported_on_separate_lines():
    path = BROKEN / "many_errors.yaml"
    result = _validate(str(path))
    errors = [line for line in result.stderr.splitlines() if line.startswith(f"error: {path}:")]
    assert len(errors) == len(_headers(path.read_text(), "expect")) == 5
    lines = [int(line.removeprefix(f"error: {path}:").split(":")[0]) for line in errors]
    assert lines == sorted(lines), "problems are listed in file order"


def test_override_can_fix_a_broken_recipe():
    result = _validate(str(BROKEN / "epochs_zero.yaml"), "train.epochs=3")
    assert result.exit_code == 0, result.output
    assert "epochs: 3" in result.stdout


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("train.epochs=fast", ["train.epochs:", "expected a whole number, got 'fast'"]),
        ("train.epochs", ["KEY=VALUE"]),
        ("~train.nosuch", ["nothing to delete", "'train.nosuch'"]),
        ("model.hidden=[1,", ["YAML syntax error"]),
        ("..=3", ["is not a dotted key"]),
        ("model.hidden.7=3", ["not an index of this list"]),
        ("nosuch.key=3", ["unknown key 'nosuch'"]),
        ("train.nosuch.key=3", ["train.nosuch: unknown key 'nosuch'"]),
    ],
)
def test_bad_override_is_refused_and_named(override: str, expected: list[str]):
    result = _validate(str(RECIPES / "iris.yaml"), override)
    _assert_refused(result, [f"override {override}", *expected])


def test_every_bad_override_is_reported_at_once():
    result = _validate(str(RECIPES / "iris.yaml"), "..=3", "train.epochs", "~train.nosuch")
    _assert_refused(result, ["override ..=3", "override train.epochs", "override ~train.nosuch"])
    assert result.stderr.count("error: ") == 3
