"""A .pt2 archive checked before torch.export.load opens it.

torch.export.load unpickles parts of an archive with weights_only=False: weights and constants
marked `use_pickle`, custom and opaque objects, and sample inputs that a weights_only load
refuses (it falls back). A crafted model.pt2 in a run folder from elsewhere so ran code on
`predict --format pt2` (tests/hardening/test_hostile.py). easytrain's exports hold raw tensors,
JSON and weights_only-loadable sample inputs; an archive with anything else is refused.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from easytrain.errors import RunFailed

NATIVE = ("data/aotinductor/", "data/executorch/", "data/mtia")  # compiled code, loaded as is
CONFIGS = ("data/weights/", "data/constants/")
SAMPLE_INPUTS = "data/sample_inputs/"
TENSOR_CONSTANT = "tensor_"  # constants named otherwise are pickled Python objects


def unsafe_parts(archive: zipfile.ZipFile) -> list[str]:
    """What in the archive torch.export.load would unpickle or load as native code."""
    names = {name.split("/", 1)[1]: name for name in archive.namelist() if "/" in name}
    if "archive_format" not in names:
        return ["no archive_format: an older format, read with pickle"]
    found = [name for name in names if name.startswith(NATIVE)]
    for name, full in names.items():
        if name.startswith(CONFIGS) and name.endswith("_config.json"):
            for key, meta in json.loads(archive.read(full)).get("config", {}).items():
                pickled = meta.get("use_pickle") or (
                    name.startswith("data/constants/")
                    and not str(meta.get("path_name", "")).startswith(TENSOR_CONSTANT)
                )
                if pickled:
                    found.append(f"{name}: {key}")
        elif name.startswith(SAMPLE_INPUTS) and not _loads_safely(archive.read(full)):
            found.append(name)
    return found


def _loads_safely(data: bytes) -> bool:
    import torch

    try:
        torch.load(io.BytesIO(data), weights_only=True)
    except Exception:
        return False
    return True


def refuse_unsafe(path: Path) -> None:
    """A RunFailed for a .pt2 file that is not a plain easytrain export."""
    try:
        with zipfile.ZipFile(path) as archive:
            unsafe = unsafe_parts(archive)
    except (OSError, zipfile.BadZipFile, ValueError, KeyError) as exc:
        raise RunFailed(f"{path} is not a .pt2 archive easytrain can read: {exc}") from None
    if unsafe:
        raise RunFailed(
            f"{path} holds pickled Python objects or native code, which loading it would run "
            f"({', '.join(unsafe[:3])}); easytrain loads only plain exports (re-export the run "
            "with `easytrain export`, or use its checkpoint)"
        )
