"""Start-up: what the quick commands import, and the shortcuts that keep them quick.

No timings here (benchmarks/startup.py measures them); these tests check the things that make
them fast stay true, and that each shortcut gives the answer the long way gives.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Literal

import pytest

from easytrain.config.base import Section
from easytrain.config.load import load_recipe
from tests.conftest import RECIPES, ROOT

# What --help and validate never import: torch and the libraries that import it, numpy (no
# command reads data to validate), the parts of rich that help never prints with.
HEAVY = (
    "torch",
    "torchvision",
    "transformers",
    "matplotlib",
    "numpy",
    "sklearn",
    "pandas",
    "rich.markdown",
    "rich.traceback",
    "markdown_it",
    "pygments",
)

PROBE = """
import sys
from easytrain.cli import app
from easytrain.registry import default_registry
try:
    app({args!r})
except SystemExit as exit:
    code = exit.code
print("CODE=" + str(code), file=sys.stderr)
print("HEAVY=" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
print("RICH=" + str("rich" in sys.modules), file=sys.stderr)
print("PLUGINS_SCANNED=" + str(default_registry.cache_info().currsize > 0), file=sys.stderr)
import os, pydantic.plugin._loader as loader
print("PYDANTIC_SCANNED=" + str(loader._plugins is not None), file=sys.stderr)
print("PYDANTIC_ENV=" + str(os.environ.get("PYDANTIC_DISABLE_PLUGINS")), file=sys.stderr)
"""


def probe(args: list[str]) -> dict[str, str]:
    """Run the command in a fresh interpreter; what it exited with and what it imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    found = dict(line.split("=", 1) for line in done.stderr.splitlines() if "=" in line)
    assert "CODE" in found, done.stderr
    return found


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["run", "--help"],
        ["recipes", "--help"],
        ["validate", str(RECIPES / "digits.yaml")],
        ["validate", str(RECIPES / "text-finetune.yaml")],
        ["validate", str(RECIPES / "llm-sft.yaml")],
    ],
)
def test_help_and_validate_import_nothing_heavy(args: list[str]) -> None:
    found = probe(args)
    assert found["CODE"] == "0"
    assert found["HEAVY"] == ""


def test_validate_of_built_in_components_imports_no_rich_and_scans_no_plugins() -> None:
    found = probe(["validate", str(RECIPES / "digits.yaml")])
    assert found["RICH"] == "False"  # it prints YAML, nothing rich draws
    assert found["PLUGINS_SCANNED"] == "False"
    # the recipe models are built without pydantic's plugins, and the setting is put back
    assert found["PYDANTIC_SCANNED"] == "False"
    assert found["PYDANTIC_ENV"] == "None"


def test_a_problem_is_looked_up_with_the_plugins_too() -> None:
    """A name that is not built in may be a plugin's: the answer comes from the whole registry."""
    found = probe(["validate", str(RECIPES / "digits.yaml"), "model.type=cnnn"])
    assert found["CODE"] == "2"
    assert found["PLUGINS_SCANNED"] == "True"


def test_help_uses_rich_own_classes_once_it_needs_them() -> None:
    """The stand-ins typer.rich_utils is imported with hand every use to rich's real classes,
    and leave rich.markdown and rich.traceback for any later import to load for real."""
    code = """
import sys
from easytrain.commands.help import import_rich_utils
import_rich_utils()
import typer.rich_utils as utils
assert "rich.markdown" not in sys.modules and "rich.traceback" not in sys.modules
import rich.markdown, rich.traceback
shown = utils.Markdown("*a* text")
assert type(shown) is rich.markdown.Markdown, type(shown)
try:
    raise ValueError("boom")
except ValueError as exc:
    tb = utils.Traceback.from_exception(type(exc), exc, exc.__traceback__)
assert type(tb) is rich.traceback.Traceback, type(tb)
assert rich.markdown.Markdown is not utils.Markdown
print("OK")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.stdout.strip() == "OK", done.stderr


class ShadowConfig(Section):
    """A plugin's model registered under a torchvision model's name."""

    type: Literal["resnet18"] = "resnet18"
    width: int = 4


def test_a_plugin_model_named_like_a_torchvision_model_comes_first() -> None:
    """Without plugins, `type: resnet18` is torchvision's; a plugin's resnet18 still wins."""
    from easytrain.registry import default_registry

    recipe = RECIPES / "digits.yaml"
    assert type(load_recipe(recipe, ["~model", "model.type=resnet18"]).model).__name__ == (
        "TorchvisionConfig"
    )
    default_registry.cache_clear()
    try:
        default_registry().add("model", "resnet18", "tests:nothing", ShadowConfig, origin="test")
        loaded = load_recipe(recipe, ["~model", "model.type=resnet18", "model.width=7"])
    finally:
        default_registry.cache_clear()
    assert isinstance(loaded.model, ShadowConfig)
    assert loaded.model.width == 7


def test_the_pydantic_plugin_setting_of_the_user_is_put_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from easytrain.commands.common import without_pydantic_plugins

    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "logfire")
    with without_pydantic_plugins():
        assert os.environ["PYDANTIC_DISABLE_PLUGINS"] == "1"
    assert os.environ["PYDANTIC_DISABLE_PLUGINS"] == "logfire"
