"""Each export format: how the model is written, and how the written file is loaded to run it.

A loaded export is a callable, tensor in, tensor out, like the model, whatever runs it
(torch.export, TorchScript, ONNX Runtime).
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from easytrain.engine import checkpoint
from easytrain.engine.checkpoint import write_atomic
from easytrain.engine.runfolder_checks import load_into, weights

FILES = {
    "pt2": "model.pt2",
    "onnx": "model.onnx",
    "torchscript": "model.ts",
    "state_dict": "model.state_dict.pt",
    "hf": "hf",  # a folder: a Hugging Face model (model.type hf) that transformers loads itself
}
Runner = Callable[[torch.Tensor], torch.Tensor]


def dynamic_dims(model: nn.Module) -> dict[int, Any]:
    """The input dimensions an export leaves open: the batch, and for token ids of any length
    (a module marked `variable_length`, e.g. models.hf) the sequence too."""
    dims: dict[int, Any] = {0: torch.export.Dim("batch")}
    if any(getattr(m, "variable_length", False) for m in model.modules()):
        dims[1] = torch.export.Dim.DYNAMIC  # bounds (e.g. the positions a model has) inferred
    return dims


def _pt2(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    program = torch.export.export(model, (example,), dynamic_shapes=(dynamic_dims(model),))
    write_atomic(path, lambda file: torch.export.save(program, file))


def _torchscript(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's deprecation notice; we say so in the docs
        traced = torch.jit.trace(model, example)
        write_atomic(path, lambda file: torch.jit.save(traced, file))


def _state_dict(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    write_atomic(path, lambda file: torch.save(model.state_dict(), file))


def _onnx(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    from easytrain.deploy import onnx

    onnx.export(model, example, path, opset)


def _hf(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    from easytrain.models import hf_causal, hf_image
    from easytrain.models.hf import save_hf_folder

    if hf_causal.inner(model) is not None:  # a language model: merged, and its adapter alone
        hf_causal.save_folder(model, path)
    elif hf_image.inner(model) is not None:  # an image classifier: its image processor beside
        hf_image.save_folder(model, path)
    else:
        save_hf_folder(model, path)


WRITERS = {
    "pt2": _pt2,
    "onnx": _onnx,
    "torchscript": _torchscript,
    "state_dict": _state_dict,
    "hf": _hf,
}


def write(name: str, model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    """Export `model` (on the CPU, in eval mode) as `name`; example: a batch of two or more."""
    with torch.no_grad():
        WRITERS[name](model, example, path, opset)


def load(name: str, path: Path, architecture: Callable[[], nn.Module]) -> Runner:
    """The export at path, ready to run; architecture() builds the model a state_dict fills."""
    if name == "pt2":
        from easytrain.deploy.pt2check import refuse_unsafe

        refuse_unsafe(path)  # torch.export.load unpickles what an archive marks as pickled
        return torch.export.load(path).module()
    if name == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated, like torch.jit.save
            return torch.jit.load(str(path))
    if name == "onnx":
        from easytrain.deploy.onnx import OnnxRunner

        return OnnxRunner(path)
    if name == "hf":
        from easytrain.models import hf_causal, hf_image
        from easytrain.models.hf import load_hf_folder

        built = architecture()
        if hf_causal.inner(built) is not None:
            return hf_causal.load_folder(path, built)
        if hf_image.inner(built) is not None:
            return hf_image.load_folder(path, built)
        return load_hf_folder(path, built)
    model = architecture()
    # weights_only, a refusal as a RunFailed; a mismatch in one line
    load_into(model, weights(checkpoint.load(path), path, key=None), path)
    return model.eval()


def copy_of(model: nn.Module) -> Callable[[], nn.Module]:
    return lambda: copy.deepcopy(model)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def reason(exc: BaseException) -> str:
    """One line for the error message: the first line of the exception, or its type."""
    for line in _ANSI.sub("", str(exc)).splitlines():
        if line.strip():
            return line.strip()[:300]
    return type(exc).__name__
