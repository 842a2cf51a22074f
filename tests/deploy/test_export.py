"""Every export of every recipe family answers like the PyTorch model, and says why when it cannot."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from easytrain.deploy.loaded import load_run
from easytrain.errors import ExitCode
from tests.conftest import RECIPES, cli
from tests.deploy.conftest import FAMILIES, QUICK

TOLERANCE = 1e-4  # export.tolerance's default


def _load(fmt: str, path: Path, run: Path):
    if fmt == "pt2":
        return torch.export.load(path).module()
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # PyTorch deprecates TorchScript
            return torch.jit.load(str(path))
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (first,) = session.get_inputs()
        return lambda x: torch.from_numpy(session.run(None, {first.name: x.numpy()})[0])
    model = load_run(run).architecture()
    model.load_state_dict(torch.load(path, weights_only=True))
    return model.eval()


@pytest.mark.parametrize("family", FAMILIES)
def test_each_export_answers_like_the_model_on_test_inputs(
    family: str, request: pytest.FixtureRequest
) -> None:
    found = request.getfixturevalue(family)
    card = json.loads((found.run / "export/model.json").read_text())
    assert set(card["files"]) == {"pt2", "onnx", "torchscript", "state_dict"}
    model = load_run(found.run).model
    x = found.test_x[:100]
    with torch.no_grad():
        expected = model(x)
        for fmt, file in card["files"].items():
            assert card["checks"][fmt]["max_abs_diff"] <= TOLERANCE
            export = _load(fmt, found.run / "export" / file, found.run)
            for batch in (x[:1], x):  # the batch dimension is dynamic in every format
                got = export(batch)
                assert got.shape == expected[: len(batch)].shape, fmt
                assert (got - expected[: len(batch)]).abs().max() <= TOLERANCE, fmt
    assert card["onnx"] == {"input": "input", "output": "output", "opset": 18}


def test_model_card_holds_what_a_consumer_needs(
    image_family, table_family, text_family, resnet_family
) -> None:
    def card(family) -> dict:
        return json.loads((family.run / "export/model.json").read_text())

    image = card(image_family)
    assert image["input"]["kind"] == "image" and image["input"]["shape"] == [1, 12, 12]
    assert image["input"]["encoding"]["image"] == {
        "channels": 1,
        "size": [12, 12],
        "resize": "bilinear, antialiased",
    }
    assert image["input"]["rescale"] is True and len(image["input"]["normalize"]["mean"]) == 1
    assert "divide by 255" in image["input"]["steps"]
    assert image["classes"] == [str(d) for d in range(10)] and image["threshold"] is None
    table = card(table_family)
    assert table["classes"] == ["no", "yes"]
    assert table["threshold"] == table_family.summary["threshold"]["value"]
    columns = table["input"]["encoding"]["table"]
    assert columns["categorical"]["city"]["categories"] == ["<missing>", "lyon", "nice", "paris"]
    assert set(columns["numeric"]) == {"age", "income", "member"}
    assert len(table["input"]["normalize"]["mean"]) == len(columns["columns"])
    text = card(text_family)
    tokenizer = text["input"]["encoding"]["text"]
    assert text["input"]["dtype"] == "int64" and "goal" in tokenizer["vocab"]
    assert tokenizer["pad_id"] == 0 and tokenizer["max_length"] == 24
    assert text["output"]["size"] == 2 and "softmax" in text["output"]["meaning"]
    assert card(resnet_family)["input"]["kind"] == "features"


def test_export_command_exports_a_finished_run_at_another_opset(table_family, tmp_path) -> None:
    run = tmp_path / "run"
    import shutil

    shutil.copytree(table_family.run, run)
    (run / "export" / "model.onnx").unlink()
    done = cli("export", str(run), "--format", "onnx", "--opset", "17")
    assert done.returncode == 0, done.stderr
    assert "export: onnx → export/model.onnx" in done.stderr
    card = json.loads((run / "export/model.json").read_text())
    assert card["checks"]["onnx"]["opset"] == 17 and card["onnx"]["opset"] == 17
    assert set(card["files"]) == {"pt2", "onnx", "torchscript", "state_dict"}  # the others stay
    session = onnxruntime.InferenceSession(str(run / "export/model.onnx"))
    x = table_family.test_x[:5].numpy()
    expected = load_run(run).model(table_family.test_x[:5]).detach().numpy()
    assert np.abs(session.run(None, {"input": x})[0] - expected).max() <= TOLERANCE
    bad = cli("export", str(run), "--format", "onxx")
    assert bad.returncode == ExitCode.BAD_RECIPE and "pt2, onnx, torchscript" in bad.stderr
    missing = cli("export", str(tmp_path / "nope"))
    assert missing.returncode == ExitCode.BAD_RECIPE and "no such run folder" in missing.stderr


UNEXPORTABLE = """
import math

import torch
from torch import nn


class RunningMax(nn.Module):
    '''A linear model on the features plus their running maximum (torch.cummax: no ONNX op).'''

    def __init__(self, input_shape, num_outputs):
        super().__init__()
        self.linear = nn.Linear(math.prod(input_shape), num_outputs)

    def forward(self, x):
        x = x.flatten(1)
        return self.linear(x + torch.cummax(x, dim=1).values)
"""


def test_a_format_that_cannot_export_is_named_with_its_reason_and_the_others_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "odd_models.py").write_text(UNEXPORTABLE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("odd_models", None)
    out = tmp_path / "run"
    done = cli(
        "run",
        str(RECIPES / "iris.yaml"),
        "--out",
        str(out),
        "--allow-code",
        *QUICK,
        "model={type: odd_models:RunningMax}",
        "train.epochs=1",
        "export={formats: [pt2, onnx, torchscript, state_dict]}",
    )
    assert done.returncode == ExitCode.RUN_FAILED
    assert "export failed for onnx: no ONNX translation for the operator aten.cummax" in done.stderr
    assert "exported: pt2, torchscript, state_dict" in done.stderr
    assert "Traceback" not in done.stderr and "[torch.onnx]" not in done.stdout + done.stderr
    card = json.loads((out / "export/model.json").read_text())
    assert set(card["files"]) == {"pt2", "torchscript", "state_dict"} and "onnx" not in card
    assert not (out / "export/model.onnx").exists()
    assert json.loads((out / "summary.json").read_text())["metrics"]["test"]  # it did evaluate
    refused = cli("predict", str(out), "--text", "x")
    assert refused.returncode == ExitCode.BAD_RECIPE and "--allow-code" in refused.stderr


def test_missing_onnx_packages_name_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from easytrain.config.export import ExportConfig
    from easytrain.deploy.exporting import export_formats

    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript → ImportError
    model = torch.nn.Linear(3, 2)
    done = export_formats(
        model, torch.randn(4, 3), tmp_path, ExportConfig(formats=["onnx", "pt2"]), say=str
    )
    assert done.failures == ["onnx: onnx needs onnxscript: pip install 'easytrain[onnx]'"]
    assert set(done.files) == {"pt2"}


def test_an_unconvertible_opset_says_which_opset_works(table_family, tmp_path: Path) -> None:
    from easytrain.config.export import ExportConfig
    from easytrain.deploy.exporting import export_formats

    model = load_run(table_family.run).model
    done = export_formats(
        model, table_family.test_x[:4], tmp_path, ExportConfig(formats=["onnx"], opset=9), say=str
    )
    (failure,) = done.failures
    assert failure.startswith("onnx: cannot convert the model to opset 9")
    assert "set export.opset to" in failure and not (tmp_path / "model.onnx").exists()


@pytest.mark.parametrize("command", ["export", "predict", "serve"])
def test_deploy_commands_answer_help_without_torch(command: str) -> None:
    import subprocess

    from tests.conftest import ROOT
    from tests.test_cli import PROBE

    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=[command, "--help"])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    heavy = [line for line in done.stderr.splitlines() if line.startswith("HEAVY=")]
    assert heavy == ["HEAVY="], done.stderr
    assert "Usage" in done.stdout
