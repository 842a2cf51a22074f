"""A real plugin, installed the way users install one, seen by the real CLI through its entry point.

tests/plugin/ is a tiny package (easytrain-testplugin) that registers a `linear_probe` model and an
`error_rate` metric in the `easytrain.plugins` entry-point group. It is pip-installed into a
temporary folder, and the CLI runs in a subprocess with that folder on PYTHONPATH, so the plugin
is found through its installed dist-info exactly as in a user's environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN_SOURCE = Path(__file__).parent / "plugin"

RECIPE = """\
name: iris_probe
data:
  source: builtin
  name: iris
  split: {val: 0.2, test: 0.2}
model: {type: linear_probe}
evaluate:
  metrics: [accuracy, error_rate]
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the installed plugin (its package and its dist-info)."""
    site = tmp_path_factory.mktemp("plugin-site")
    pip_install = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    options = ["--no-deps", "--no-build-isolation", "--target", str(site)]
    subprocess.run([*pip_install, *options, str(PLUGIN_SOURCE)], check=True, timeout=300)
    assert (site / "easytrain_testplugin").is_dir()
    return site


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "iris_probe.yaml"
    path.write_text(RECIPE)
    return path


def run_python(
    *args: str, site: Path | None, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python ARGS` in a subprocess; with `site`, the installed plugin is importable."""
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def easytrain(*args: str, site: Path | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_python("-m", "easytrain", *args, site=site, cwd=cwd)


def test_validate_accepts_the_plugin_model_and_metric(plugin_site, recipe, tmp_path):
    result = easytrain("validate", str(recipe), site=plugin_site, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "type: linear_probe" in result.stdout
    assert "bias: true" in result.stdout  # the plugin config's default was filled in
    assert "- error_rate" in result.stdout


def test_schema_documents_the_plugin_model(plugin_site, tmp_path):
    result = easytrain("schema", site=plugin_site, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "linear_probe" in result.stdout
    schema = json.loads(result.stdout)
    probe = schema["$defs"]["LinearProbeConfig"]
    assert probe["properties"]["type"]["const"] == "linear_probe"
    assert probe["properties"]["bias"]["description"] == (
        "Whether the linear probe layer learns an additive bias term."
    )
    model_choices = json.dumps(schema["properties"]["model"])
    assert "#/$defs/LinearProbeConfig" in model_choices


def test_validate_and_schema_do_not_import_torch_for_the_plugin(plugin_site, recipe, tmp_path):
    code = (
        "import sys\n"
        "from easytrain.config.load import load_recipe\n"
        "from easytrain.config.schema import recipe_schema\n"
        f"assert load_recipe({str(recipe)!r}).model.type == 'linear_probe'\n"
        "recipe_schema()\n"
        "assert 'easytrain_testplugin.config' in sys.modules\n"
        "assert 'torch' not in sys.modules, 'validating a recipe imported torch'\n"
    )
    result = run_python("-c", code, site=plugin_site, cwd=tmp_path)

    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_run_trains_the_plugin_model_and_computes_the_plugin_metric(plugin_site, recipe, tmp_path):
    run_dir = tmp_path / "run"
    result = easytrain(
        "run", str(recipe), "train.epochs=3", "--out", str(run_dir), site=plugin_site, cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "succeeded"
    assert summary["epochs_completed"] == 3
    test_metrics = summary["metrics"]["test"]
    assert test_metrics["error_rate"] == pytest.approx(1 - test_metrics["accuracy"], abs=1e-9)
    model_txt = (run_dir / "model.txt").read_text()
    assert "Linear" in model_txt
    assert "Linear(in_features=4, out_features=3, bias=True)" in model_txt  # sized from iris


def test_without_the_plugin_the_recipe_is_rejected(recipe, tmp_path):
    result = easytrain("validate", str(recipe), site=None, cwd=tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "model.type" in result.stderr
    assert "unknown model type 'linear_probe'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_data_source_config_must_extend_the_data_source_base() -> None:
    """Every data source answers what the pipeline asks of one (sampler, stream, resample)."""
    from typing import Literal

    from easytrain.config.base import Section
    from easytrain.config.data import DataSource
    from easytrain.registry import Registry

    class Loose(Section):
        source: Literal["loose"] = "loose"

    class Sound(DataSource):
        source: Literal["sound"] = "sound"

    registry = Registry()
    with pytest.raises(ValueError, match="must extend easytrain.config.data.DataSource"):
        registry.add("data", "loose", "somewhere:load", Loose, origin="a-plugin")
    registry.add("data", "sound", "somewhere:load", Sound, origin="a-plugin")
    sound = Sound()
    assert (sound.sampler, sound.stream_setting(), sound.resampling()) == ("shuffle", False, None)
