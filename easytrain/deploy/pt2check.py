"""A .pt2 archive checked before torch.export.load opens it, as torch will read it.

torch.export.load unpickles parts of an archive with weights_only=False: weights and constants
marked `use_pickle`, custom and opaque objects, legacy `data/weights/<model>.pt` files, sample
inputs that a weights_only load refuses (it falls back), and, when the archive fails to load, a
legacy zip layout. A crafted model.pt2 in a run folder from elsewhere so ran code on
`predict --format pt2` (tests/hardening/test_hostile.py).

torch reads the archive with its own zip reader (miniz), not Python's zipfile: it finds a name
case-insensitively and takes the folder of the first entry as the archive's root. Two entries of
one name (or of names differing only in case) were read one way by zipfile and the other by
torch, so a check through zipfile passed what torch then unpickled. Here an archive must have
one root folder, unique names (ignoring case) and only the entries an export of one model has;
what is checked is read through torch's own reader. An easytrain export holds raw tensors, JSON
and weights_only-loadable sample inputs; anything else is refused.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from easytrain.errors import RunFailed

WEIGHTS_CONFIG = "data/weights/model_weights_config.json"
CONSTANTS_CONFIG = "data/constants/model_constants_config.json"
SAMPLE_INPUTS = "data/sample_inputs/model.pt"
REQUIRED = ("archive_format", "archive_version", "models/model.json", WEIGHTS_CONFIG)
OPTIONAL = ("byteorder", ".data/version", ".data/serialization_id", CONSTANTS_CONFIG, SAMPLE_INPUTS)
PAYLOADS = {
    "data/weights/": re.compile(r"weight_\d+"),
    "data/constants/": re.compile(r"tensor_\d+"),
}
CONFIGS = {WEIGHTS_CONFIG: "data/weights/", CONSTANTS_CONFIG: "data/constants/"}


def _expected(name: str) -> bool:
    if name in REQUIRED or name in OPTIONAL:
        return True
    folder, _, file = name.rpartition("/")
    pattern = PAYLOADS.get(folder + "/")
    return pattern is not None and pattern.fullmatch(file) is not None


def layout_problems(names: list[str]) -> list[str]:
    """What in the entry list (Python's zipfile's view) torch could read otherwise than a check."""
    if not names:
        return ["no entries"]
    root = names[0].split("/", 1)[0]
    outside = [n for n in names if not n.startswith(f"{root}/")]
    if outside:
        return [f"entries outside its one top-level folder '{root}/': {outside[0]!r}"]
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            return [f"two entries named {seen[name.lower()]!r} and {name!r} (torch reads one)"]
        seen[name.lower()] = name
    inner = [n[len(root) + 1 :] for n in names]
    found = [f"an unexpected entry {n!r}" for n in inner if not _expected(n)]
    found += [f"no {n}" for n in REQUIRED if n not in inner]
    return found


def _config_problems(config: Any, name: str, folder: str, inner: set[str]) -> list[str]:
    entries = config.get("config") if isinstance(config, dict) else None
    if not isinstance(entries, dict):
        return [f"{name} is not a payload config"]
    found = []
    for key, meta in entries.items():
        path = meta.get("path_name") if isinstance(meta, dict) else None
        if meta.get("use_pickle") if isinstance(meta, dict) else True:
            found.append(f"{name}: {key} is pickled")
        elif not isinstance(path, str) or f"{folder}{path}" not in inner:
            found.append(f"{name}: {key} names {path!r}, not one of the archive's tensors")
    return found


def unsafe_parts(path: Path) -> list[str]:
    """What in the archive at path torch.export.load would unpickle, load as native code, or
    read otherwise than this check does; [] for a plain export."""
    import torch

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    found = layout_problems(names)
    if found:
        return found
    reader = torch._C.PyTorchFileReader(str(path))  # the reader torch.export.load uses
    inner = {n.split("/", 1)[1] for n in names}
    if sorted(reader.get_all_records()) != sorted(inner):
        return ["torch's zip reader sees other entries than Python's"]
    for name, folder in CONFIGS.items():
        if name in inner:
            config = json.loads(reader.get_record(name))
            found += _config_problems(config, name, folder, inner)
    if SAMPLE_INPUTS in inner and not _loads_safely(reader.get_record(SAMPLE_INPUTS)):
        found.append(f"{SAMPLE_INPUTS} holds Python objects, not only tensors")
    return found


def _loads_safely(data: bytes) -> bool:
    import torch

    try:
        torch.load(io.BytesIO(data), weights_only=True)
    except Exception:
        return False
    return True


def refuse_unsafe(path: Path) -> None:
    """A RunFailed (one line) for a .pt2 file that is not a plain easytrain export."""
    try:
        unsafe = unsafe_parts(path)
    except (OSError, zipfile.BadZipFile, ValueError, KeyError, RuntimeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunFailed(f"{path} is not a .pt2 archive easytrain can read: {reason}") from None
    if unsafe:
        raise RunFailed(
            f"{path} is not a plain export: it holds pickled Python objects, native code or "
            f"entries torch could read otherwise than this check ({'; '.join(unsafe[:3])}); "
            "easytrain loads only plain exports (re-export the run with `easytrain export`, "
            "or use its checkpoint)"
        )
