"""The command line: fast commands stay torch-free, schema and templates are right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from easytrain.cli import app
from tests.conftest import RECIPES, ROOT

runner = CliRunner()

PROBE = """
import sys
from easytrain.cli import app
try:
    app({args!r})
except SystemExit as exit:
    code = exit.code
heavy = [m for m in ("torch", "torchvision", "sklearn", "pandas", "matplotlib") if m in sys.modules]
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["validate", str(RECIPES / "digits.yaml")],
        ["schema"],
        ["recipes", "list"],
        ["run", "--help"],
    ],
)
def test_quick_commands_never_import_torch(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    heavy = [line for line in done.stderr.splitlines() if line.startswith("HEAVY=")]
    assert heavy == ["HEAVY="], done.stderr


def test_validate_prints_the_resolved_recipe_with_defaults() -> None:
    result = runner.invoke(app, ["validate", str(RECIPES / "iris.yaml"), "train.epochs=7"])
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load(result.stdout)
    assert resolved["train"]["epochs"] == 7
    assert resolved["train"]["optimizer"]["weight_decay"] == 0.0  # a default the file leaves out
    assert resolved["preprocess"] == {
        "type": "default",
        "normalize": True,
        "rescale": True,
        "mean": None,
        "std": None,
        "augment": [],
    }


def test_schema_documents_fields_and_accepts_every_shipped_recipe() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    text = json.dumps(schema)
    assert "Passes over the training split." in text  # attribute docstrings become descriptions
    for path in RECIPES.glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    bad = yaml.safe_load((RECIPES / "iris.yaml").read_text()) | {"epocs": 3}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_recipes_list_describes_every_template() -> None:
    result = runner.invoke(app, ["recipes", "list"])
    assert result.exit_code == 0
    for path in RECIPES.glob("*.yaml"):
        line = next(line for line in result.stdout.splitlines() if line.startswith(path.stem + " "))
        assert len(line.split(maxsplit=1)[1]) > 10  # the first comment line, as a description


def test_recipes_copy_writes_the_template_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    assert runner.invoke(app, ["recipes", "copy", "iris", str(target)]).exit_code == 0
    assert yaml.safe_load(target.read_text()) == yaml.safe_load(
        (RECIPES / "iris.yaml").read_text()
    ) | {"name": "mine"}
    target.write_text("edited")
    again = runner.invoke(app, ["recipes", "copy", "iris", str(target)])
    assert again.exit_code == 2 and "--force" in again.output
    assert target.read_text() == "edited"
    unknown = runner.invoke(app, ["recipes", "copy", "irsi"])
    assert unknown.exit_code == 2 and "did you mean 'iris'" in unknown.output


def test_every_shipped_recipe_starts_with_a_comment_saying_how_to_run_it() -> None:
    for path in RECIPES.glob("*.yaml"):
        header = path.read_text().split("\nname:")[0]
        assert header.startswith("# ") and f"easytrain run recipes/{path.name}" in header, path.name


def test_recipes_copy_names_the_copy_and_its_command_after_the_new_file(tmp_path: Path) -> None:
    target = tmp_path / "my-first.yaml"
    assert runner.invoke(app, ["recipes", "copy", "iris", str(target)]).exit_code == 0
    text = target.read_text()
    assert "\nname: my-first\n" in text and "\nname: iris\n" not in text
    assert f"#   easytrain run {target}\n" in text and "recipes/iris.yaml" not in text
    body = [line for line in text.splitlines() if not line.startswith(("#", "name:"))]
    source = (RECIPES / "iris.yaml").read_text().splitlines()
    assert body == [line for line in source if not line.startswith(("#", "name:"))]


def test_version_is_the_package_metadata_and_imports_no_torch() -> None:
    from importlib.metadata import version

    import easytrain

    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=["--version"])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.stdout == f"easytrain {version('easytrain')}\n", done.stderr
    assert version("easytrain") == easytrain.__version__
    assert "HEAVY=\n" in done.stderr
