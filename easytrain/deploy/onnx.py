"""ONNX export (torch.onnx's exporter) and ONNX Runtime inference; needs easytrain[onnx].

The exporter is torch.export-based (the only one PyTorch keeps developing); the TorchScript-based
one is deprecated and cannot export some of our models (an embedding with a padding index).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from easytrain.errors import RunFailed

EXTRA = "pip install 'easytrain[onnx]'"
INPUT, OUTPUT = "input", "output"  # tensor names in the graph (model.json says so too)
LOGGERS = ("torch.onnx", "onnxscript", "onnx_ir")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def require(*modules: str) -> None:
    """Import the ONNX packages now, or say which extra installs them."""
    missing = []
    for name in modules:
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise RunFailed(f"onnx needs {', '.join(missing)}: {EXTRA}")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _quiet() -> Iterator[_Records]:
    """The exporter's progress lines, warnings and converter tracebacks, kept off the console."""
    handler = _Records()
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.handlers[:]))
        logger.handlers, logger.propagate = [handler], False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
                yield handler
    finally:
        for logger, propagate, handlers in saved:
            logger.handlers, logger.propagate = handlers, propagate


def failure_reason(exc: BaseException) -> str:
    """One line saying why torch.onnx could not export: the missing operator when that is it."""
    text = _ANSI.sub("", str(exc))
    missing = re.search(r"No ONNX function found for <OpOverload\(op='([^']+)'", text)
    if missing:
        return f"no ONNX translation for the operator {missing.group(1)}"
    summary = text.split("## Exception summary", 1)
    lines = summary[1] if len(summary) == 2 else text
    for line in lines.splitlines():
        line = re.sub(r"^<class '[\w.]+'>:\s*", "", line.strip())
        if line and line != "⬆️":
            return line[:300]
    return type(exc).__name__


def export(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    """Write model.onnx with a dynamic batch dimension at `opset`, or fail saying why."""
    require("onnx", "onnxscript")
    import onnx

    from easytrain.deploy.formats import dynamic_dims

    # a fresh name: whatever is in the way (a folder called .model.onnx.tmp) stays untouched
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    with _quiet() as log:
        try:
            program = torch.onnx.export(
                model,
                (example,),
                dynamo=True,
                opset_version=opset,
                input_names=[INPUT],
                output_names=[OUTPUT],
                dynamic_shapes=(dynamic_dims(model),),
                external_data=False,
                verbose=False,
            )
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            raise RunFailed(f"{failure_reason(exc)} (opset {opset})") from None
        assert program is not None
        program.save(str(tmp))
    written = onnx.load(str(tmp), load_external_data=False)
    found = {o.version for o in written.opset_import if o.domain in ("", "ai.onnx")}
    if found != {opset}:
        tmp.unlink(missing_ok=True)
        why = [str(r.exc_info[1]).splitlines()[0] for r in log.records if r.exc_info]
        raise RunFailed(
            f"cannot convert the model to opset {opset}"
            + (f" ({_ANSI.sub('', why[-1])})" if why else "")
            + f"; it exports at opset {min(found) if found else '?'}: set export.opset to that"
        )
    os.replace(tmp, path)


class OnnxRunner:
    """An ONNX file run by ONNX Runtime, called like the model: tensor in, tensor out."""

    def __init__(self, path: Path, threads: int | None = None):
        require("onnxruntime")
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only
        self.session = ort.InferenceSession(
            str(path), options, providers=ort.get_available_providers()
        )
        self.input = self.session.get_inputs()[0].name

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out: Any = self.session.run(None, {self.input: x.detach().cpu().numpy()})[0]
        return torch.from_numpy(out)
