"""Hostile recipes and files: without --allow-code nothing a recipe says is imported or executed,
a recipe's name never leaves runs/, and checkpoints and exports from elsewhere cannot run code.

The canary (tests/hardening/canary.py) marks $EASYTRAIN_CANARY when imported; every shell
payload here touches the same file. Each test checks that it is never there.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from tests.conftest import RECIPES, ROOT, cli
from tests.data.makers import color_folder
from tests.hardening.tally import record

CANARY_MODULE = "tests.hardening.canary"


@pytest.fixture
def canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    mark = tmp_path / "canary"
    monkeypatch.setenv("EASYTRAIN_CANARY", str(mark))
    sys.modules.pop(CANARY_MODULE, None)
    yield mark
    imported = sys.modules.pop(CANARY_MODULE, None)
    assert not mark.exists() and imported is None, "something a recipe named was imported or run"


def refused(result: Any, code: int = 2) -> str:
    """The error lines of a refused command (progress lines may come before them)."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors, result.stderr
    return "\n".join(errors)


IMPORT_PATH = f"{CANARY_MODULE}:Boom"
WHERE_A_NAME_GOES = {
    "model.type": f"model.type={IMPORT_PATH}",
    "data.source": f"data.source={IMPORT_PATH}",
    "data.name": f"data.name={IMPORT_PATH}",
    "preprocess.type": f"preprocess.type={IMPORT_PATH}",
    "preprocess.augment": f"preprocess.augment=[{IMPORT_PATH}]",
    "train.type": f"train.type={IMPORT_PATH}",
    "train.optimizer.name": f"train.optimizer.name={IMPORT_PATH}",
    "train.scheduler.name": f"train.scheduler={{name: {IMPORT_PATH}}}",
    "train.loss": f"train.loss={IMPORT_PATH}",
    "evaluate.type": f"evaluate.type={IMPORT_PATH}",
    "evaluate.metrics": f"evaluate.metrics=[{IMPORT_PATH}]",
    "export.type": f"export={{type: {IMPORT_PATH}}}",
    "export.formats": f"export={{formats: [{IMPORT_PATH}]}}",
    "a plugin key": f"plugins=[{CANARY_MODULE}]",
}


@pytest.mark.parametrize("where", list(WHERE_A_NAME_GOES))
def test_an_import_path_anywhere_is_refused_without_allow_code(where: str, canary: Path) -> None:
    digits = str(RECIPES / "digits.yaml")
    for command in (["validate", digits], ["run", digits, "--dry-run"]):
        message = refused(cli(*command, WHERE_A_NAME_GOES[where]))
        assert "override" in message
    record(f"import path in {where}", "exit 2, not imported")


def test_the_canary_works_an_allowed_import_path_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: with --allow-code the same model.type is imported (and then refused: Boom
    is no nn.Module), so the tests above would see an import."""
    mark = tmp_path / "canary"
    monkeypatch.setenv("EASYTRAIN_CANARY", str(mark))
    sys.modules.pop(CANARY_MODULE, None)
    try:
        result = cli(
            "run", str(RECIPES / "iris.yaml"), f"model={{type: {IMPORT_PATH}}}", "--allow-code",
            "--out", str(tmp_path / "run"),
        )  # fmt: skip
        assert result.returncode == 2 and "is not a torch.nn.Module class" in result.stderr
        assert mark.exists()
    finally:
        sys.modules.pop(CANARY_MODULE, None)


def payloads(mark: Path) -> list[str]:
    touch = f"touch {mark}"
    return [
        f"__import__('os').system('{touch}')",
        f"eval(\"__import__('os').system('{touch}')\")",
        f"{{{{ __import__('os').system('{touch}') }}}} $({touch}) `{touch}`",
        "os:system",
        IMPORT_PATH,
    ]


def _string_leaves(data: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _string_leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _string_leaves(value, (*path, index))
    elif isinstance(data, str):
        yield path


# builtin data, and the shipped table and text recipes on small files with their columns
RECIPES_WITH_DATA = {
    "digits.yaml": None,
    "iris.yaml": None,
    "diabetes.yaml": None,
    "table-classification.yaml": (ROOT / "data" / "penguins.csv").read_text(),  # its sample
    "text-classification.yaml": "review,sentiment\n"
    + "".join(f"{'good fine' if i % 2 else 'bad awful'} film,{'pn'[i % 2]}\n" for i in range(40)),
}


@pytest.mark.parametrize("recipe", list(RECIPES_WITH_DATA))
def test_code_in_any_string_field_stays_a_string(recipe: str, tmp_path: Path, canary: Path) -> None:
    """Every string of the recipe, and a gate, replaced by each payload: validate either accepts
    it as text or refuses it (exit 2); what validates is also planned (--dry-run: data read,
    columns looked up, model built)."""
    data = yaml.safe_load((RECIPES / recipe).read_text())
    regression = recipe == "diabetes.yaml"
    data.setdefault("evaluate", {})["gates"] = {"mae" if regression else "accuracy": "> 0"}
    if RECIPES_WITH_DATA[recipe]:
        data["data"]["path"] = str(tmp_path / "data.csv")
        (tmp_path / "data.csv").write_text(RECIPES_WITH_DATA[recipe])
        data["data"].update({} if "table" in recipe else {"min_freq": 1})
    assert cli("run", str(_write(tmp_path / recipe, data)), "--dry-run").returncode == 0  # control
    target = tmp_path / recipe
    outcomes = {0: 0, 2: 0}
    for path in list(_string_leaves(data)):
        for payload in payloads(canary):
            changed = json.loads(json.dumps(data))
            node = changed
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = payload
            target.write_text(yaml.safe_dump(changed, sort_keys=False))
            result = cli("validate", str(target))
            assert result.returncode in (0, 2) and "Traceback" not in result.stderr
            outcomes[result.returncode] += 1
            if result.returncode == 0:
                planned = cli("run", str(target), "--dry-run")
                assert planned.returncode in (0, 1, 2), planned.stderr
                assert "Traceback" not in planned.stderr
            assert not canary.exists(), f"{path} = {payload!r} ran"
    record("code-like string in a recipe field", "valid, kept as text", outcomes[0])
    record("code-like string in a recipe field", "exit 2", outcomes[2])


PYTHON_TAGS = [
    '!!python/object/apply:os.system ["touch {mark}"]',
    '!!python/object/new:subprocess.Popen [["touch", "{mark}"]]',
    "!!python/name:os.system",
    "!!python/module:" + CANARY_MODULE,
    '!<tag:yaml.org,2002:python/object/apply:os.system> ["touch {mark}"]',
]


@pytest.mark.parametrize("tag", PYTHON_TAGS)
def test_a_python_tag_is_refused_in_a_file_and_in_an_override(
    tag: str, tmp_path: Path, canary: Path
) -> None:
    value = tag.format(mark=canary)
    recipe = tmp_path / "tagged.yaml"
    recipe.write_text(f"name: tagged\ndata: {{name: digits}}\nseed: {value}\n")
    assert "tagged.yaml:3:7" in refused(cli("run", str(recipe), "--dry-run"))
    message = refused(cli("validate", str(RECIPES / "iris.yaml"), f"seed={value}"))
    assert "is not allowed" in message
    record("YAML python tag (file, override)", "exit 2, nothing constructed", 2)


ESCAPES = ["../../x", "../x", "/tmp/x", "a/../../b", "..", ".", "a/b", "~", "x\x00y", "..\\..\\x"]


@pytest.mark.parametrize("name", ESCAPES)
def test_a_run_name_never_leaves_the_runs_folder(name: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    recipe = work / "escape.yaml"
    recipe.write_text(yaml.safe_dump({"name": name, "data": {"name": "iris"}}))
    refused(cli("run", str(recipe), cwd=work))
    refused(cli("run", str(RECIPES / "iris.yaml"), f"name={json.dumps(name)}", cwd=work))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert not (work / "runs").exists() and not Path("/tmp/x").exists()
    record("run name escaping runs/ (file, override)", "exit 2", 2)


def test_a_symlinked_run_folder_is_refused(tmp_path: Path) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    (work / "runs").mkdir(parents=True)
    elsewhere.mkdir()
    (work / "runs" / "iris").symlink_to(elsewhere)
    (work / "runs" / "iris-tune").symlink_to(elsewhere)
    for command in (["run", str(RECIPES / "iris.yaml")], ["tune", str(RECIPES / "iris-tune.yaml")]):
        message = refused(cli(*command, cwd=work))
        assert "is a symbolic link" in message
    for command in (["run", str(RECIPES / "iris.yaml")], ["tune", str(RECIPES / "iris-tune.yaml")]):
        message = refused(cli(*command, "--resume", cwd=work))
        assert "is a symbolic link" in message
    assert not any(elsewhere.iterdir())
    record("runs/<name> a symlink to elsewhere (run, tune, with and without --resume)", "exit 2", 4)


def test_out_is_the_users_choice_and_may_be_anywhere(tmp_path: Path) -> None:
    out = tmp_path / "any" / "where"
    result = cli(
        "run", str(RECIPES / "iris.yaml"), "train.epochs=1", "evaluate.plots=false",
        "train.tensorboard=false", "~evaluate.gates", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (out / "summary.json").is_file()


def _write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class Payload:
    """Unpickling calls os.system: what a crafted checkpoint would do if loaded with pickle."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self) -> tuple:
        return os.system, (self.command,)


def pickled(mark: Path, wrap: bool = True) -> bytes:
    buffer = io.BytesIO()
    payload = Payload(f"touch {mark}")
    torch.save({"model": payload, "x": payload} if wrap else payload, buffer)
    return buffer.getvalue()


def crafted_pt2(original: Path, mark: Path, part: str) -> bytes:
    """model.pt2 with one weight marked `use_pickle` (torch.export.load unpickles it with
    weights_only=False), or with its sample inputs replaced by a payload (a weights_only
    failure there makes torch.export.load fall back to pickle)."""
    out = io.BytesIO()
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(out, "w") as target:
        config_name = next(n for n in source.namelist() if n.endswith("model_weights_config.json"))
        config = json.loads(source.read(config_name))
        first = next(iter(config["config"]))
        config["config"][first]["use_pickle"] = True
        for item in source.infolist():
            data = source.read(item.filename)
            if part == "weight" and item.filename == config_name:
                data = json.dumps(config).encode()
            elif (
                part == "weight"
                and item.filename.endswith(config["config"][first]["path_name"])
                or part == "sample inputs"
                and "/data/sample_inputs/" in item.filename
            ):
                data = pickled(mark, wrap=False)
            target.writestr(item, data)
    return out.getvalue()


LOADERS = {
    "checkpoints/last.pt via run --resume": ("checkpoints/last.pt", ["run", "{recipe}", "--resume", "--out", "{run}"]),
    "checkpoints/best.pt via evaluate": ("checkpoints/best.pt", ["evaluate", "{run}"]),
    "checkpoints/best.pt via predict": ("checkpoints/best.pt", ["predict", "{run}", "{rows}"]),
    "checkpoints/best.pt via export": ("checkpoints/best.pt", ["export", "{run}", "--format", "state_dict"]),
    "sample_inputs.pt via predict": ("sample_inputs.pt", ["predict", "{run}", "{rows}"]),
    "export/model.state_dict.pt via predict": (
        "export/model.state_dict.pt", ["predict", "{run}", "{rows}", "--format", "state_dict"]),
    "export/model.pt2 (pickled weight) via predict": (
        "export/model.pt2", ["predict", "{run}", "{rows}", "--format", "pt2"]),
    "export/model.pt2 (pickled sample inputs) via predict": (
        "export/model.pt2", ["predict", "{run}", "{rows}", "--format", "pt2"]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(LOADERS))
def test_a_crafted_pickle_is_refused_and_never_runs(
    case: str, finished_run: Path, tmp_path: Path, canary: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    file, command = LOADERS[case]
    if file.endswith(".pt2"):
        part = "weight" if "weight" in case else "sample inputs"
        content = crafted_pt2(finished_run / file, canary, part)
    else:
        content = pickled(canary, wrap=file != "export/model.state_dict.pt")
    (run / file).write_bytes(content)
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(f"pixel_{i}" for i in range(64)) + "\n" + ",".join("0" * 64) + "\n")
    args = [a.format(run=run, rows=rows, recipe=run / "recipe.yaml") for a in command]
    message = refused(cli(*args), code=1)
    assert str(run / file) in message
    assert "easytrain can load safely" in message or "pickled Python objects" in message
    record(f"crafted pickle: {case}", "exit 1, not run")


def test_crafted_pretrained_weights_are_refused(tmp_path: Path, canary: Path) -> None:
    weights = tmp_path / "evil.pth"
    weights.write_bytes(pickled(canary))
    recipe = tmp_path / "backbone.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "name": "backbone",
                "data": {
                    "source": "image_folder",
                    "path": str(color_folder(tmp_path / "images", per_class=4)),
                    "image_size": 32,
                    "cache": False,
                },
                "model": {"type": "resnet18", "weights": str(weights)},
                "train": {"epochs": 1, "tensorboard": False},
            }
        )
    )
    message = refused(cli("run", str(recipe), "--out", str(tmp_path / "run")), code=1)
    assert "evil.pth is not a checkpoint easytrain can load safely" in message
    record("crafted pickle: model.weights file", "exit 1, not run")


def test_plugins_come_only_from_installed_entry_points(canary: Path) -> None:
    """Building the registry loads entry points of the `easytrain.plugins` group and nothing a
    recipe or the environment names; a plugin module path in a recipe is an import path."""
    from easytrain.registry import PLUGIN_GROUP, default_registry

    default_registry.cache_clear()
    try:
        registry = default_registry()
    finally:
        default_registry.cache_clear()
    assert PLUGIN_GROUP == "easytrain.plugins"
    assert all(not c.target.startswith(CANARY_MODULE) for c in registry)
    message = refused(cli("validate", str(RECIPES / "iris.yaml"), f"model.type={IMPORT_PATH}"))
    assert "--allow-code" in message
    record("a recipe naming a plugin module", "exit 2, not imported")
