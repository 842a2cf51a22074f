"""Export a model in several formats, check each on real inputs, and write export/model.json.

Shared by the export stage (at the end of a run) and `easytrain export RUN_DIR` (later). One
format failing does not stop the others; the failures are reported together at the end.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from easytrain.config.export import ExportConfig
from easytrain.deploy import formats
from easytrain.deploy.card import model_card, read_json
from easytrain.errors import EasytrainError, RunFailed


@dataclass
class Exported:
    files: dict[str, str] = field(default_factory=dict)  # format → file name in export/
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _remove(path: Path) -> None:
    """An export that failed its check: a file, or a folder (hf)."""
    if path.is_dir():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _check_inputs(inputs: torch.Tensor) -> torch.Tensor:
    if len(inputs) < 2:  # a batch of one would fix the batch size in the export
        return inputs.repeat(2, *[1] * (inputs.ndim - 1))
    return inputs


def export_formats(
    model: nn.Module,
    inputs: torch.Tensor,
    folder: Path,
    config: ExportConfig,
    scale: float = 1.0,
    say: Callable[[str], None] = print,
) -> Exported:
    """Write each of config.formats to folder and compare its outputs with model's on inputs.

    scale: what differences are divided by before the tolerance check (a regression target's
    standard deviation, so that the tolerance does not depend on the target's units).
    """
    model = copy.deepcopy(model).cpu().eval()
    inputs = _check_inputs(inputs.cpu())
    with torch.no_grad():
        expected = model(inputs)
    done = Exported()
    for name in config.formats:
        path = folder / formats.FILES[name]
        written = False  # a failed attempt removes its own file, never an earlier export's
        try:
            formats.write(name, model, inputs[:2], path, config.opset)
            written = True
            runner = formats.load(name, path, formats.copy_of(model))
            with torch.no_grad():
                got = runner(inputs)
            if got.shape != expected.shape:
                raise RunFailed(
                    f"the export answers with shape {list(got.shape)}, the model with "
                    f"{list(expected.shape)}"
                )
            difference = float((got.float() - expected.float()).abs().max())
        except Exception as exc:  # one format failing must not stop the others
            why = str(exc) if isinstance(exc, EasytrainError) else formats.reason(exc)
            done.failures.append(f"{name}: {why}")
            if written:
                _remove(path)
            continue
        if difference / scale > config.tolerance:
            done.failures.append(
                f"{name}: outputs differ from the model's by {difference:.3g}"
                + (f" ({difference / scale:.3g} target standard deviations)" if scale != 1 else "")
                + f", over export.tolerance {config.tolerance}; the file is not kept"
            )
            _remove(path)
            continue
        done.files[name] = formats.FILES[name]
        done.checks[name] = {"max_abs_diff": difference, "inputs": len(inputs)}
        if name == "onnx":
            done.checks[name] |= {"opset": config.opset, "runtime": "onnxruntime"}
        say(f"export: {name} → export/{formats.FILES[name]} (max |diff| {difference:.2g})")
    return done


def write_model_card(
    folder: Path,
    name: str,
    card: dict[str, Any],
    threshold: float | None,
    outputs: int,
    exported: Exported,
) -> dict[str, Any]:
    """export/model.json, keeping the files of earlier exports that are still there."""
    from easytrain.deploy.onnx import INPUT, OUTPUT
    from easytrain.pipeline.folders import write_json

    previous = read_json(folder / "model.json") or {}
    files = {
        fmt: file for fmt, file in previous.get("files", {}).items() if (folder / file).exists()
    }
    checks = {fmt: check for fmt, check in previous.get("checks", {}).items() if fmt in files}
    files |= exported.files
    checks |= exported.checks
    model = model_card(name, card, threshold, outputs) | {"files": files, "checks": checks}
    if "onnx" in files:
        model["onnx"] = {"input": INPUT, "output": OUTPUT, "opset": checks["onnx"].get("opset")}
    write_json(folder / "model.json", model)
    return model


def failure(exported: Exported) -> RunFailed | None:
    """One error naming each format that failed and why, and what did export."""
    if not exported.failures:
        return None
    kept = ", ".join(exported.files)
    return RunFailed(
        "export failed for "
        + "; ".join(exported.failures)
        + (f"\n  exported: {kept} (listed in export/model.json)" if kept else "")
    )


def export_run(run_dir: Path, names: list[str], opset: int | None, allow_code: bool) -> None:
    """`easytrain export RUN_DIR`: the best checkpoint in each format, checked like at train time."""
    import sys

    from easytrain.deploy.loaded import load_run
    from easytrain.errors import RecipeError
    from easytrain.pipeline.folders import check_writable

    run = load_run(run_dir, allow_code)
    check_writable(run_dir, "export/")
    config = run.recipe.export or ExportConfig()
    updates: dict[str, Any] = {}
    if names:
        unknown = [n for n in names if n not in formats.FILES]
        if unknown:
            raise RecipeError(
                f"--format: {', '.join(unknown)}: expected {', '.join(formats.FILES)}"
            )
        updates["formats"] = list(dict.fromkeys(names))
    if opset is not None:
        updates["opset"] = opset
    try:
        config = ExportConfig.model_validate(config.model_dump() | updates)
    except ValueError as exc:
        raise RecipeError(f"--opset: {exc.errors()[0]['msg']}") from None  # type: ignore[attr-defined]
    folder = run_dir / "export"
    folder.mkdir(exist_ok=True)
    say = lambda line: print(line, file=sys.stderr)  # noqa: E731
    exported = export_formats(run.model, run.sample, folder, config, run.target_std, say)
    write_model_card(folder, run.recipe.name, run.card, run.threshold, run.outputs, exported)
    error = failure(exported)
    if error is not None:
        raise error
