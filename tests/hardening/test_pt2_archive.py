"""Crafted model.pt2 archives that a check through Python's zipfile would pass while torch's own
zip reader (miniz: the first copy of a name, found case-insensitively) loads a pickled part:
each is refused in one line, before torch opens it, by `predict --format pt2` and `serve`."""

from __future__ import annotations

import io
import json
import shutil
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from tests.conftest import cli
from tests.hardening.tally import record
from tests.hardening.test_hostile import canary, pickled, refused  # noqa: F401 (a fixture)

CONFIG = "data/weights/model_weights_config.json"


def _crafted(original: Path, mark: Path, how: str, evil_first: bool = True) -> bytes:
    """The export with a pickled weight (`use_pickle`, unpickled by torch.export.load) hidden
    from a zipfile-based check in the way `how` names."""
    out = io.BytesIO()
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(out, "w") as target:
        root = source.namelist()[0].split("/")[0]
        clean = source.read(f"{root}/{CONFIG}")
        evil = json.loads(clean)
        first = next(iter(evil["config"]))
        evil["config"][first] |= {"use_pickle": True, "path_name": "weight_99"}
        evil_name = f"{root}/{CONFIG}"
        if how == "names differing in case":  # zipfile's check never looks at DATA/…
            evil_name = f"{root}/{CONFIG.replace('data/', 'DATA/')}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename.endswith(CONFIG) and how == "a second top-level folder":
                    target.writestr(item, json.dumps(evil))  # what torch reads ...
                    target.writestr(f"other/{CONFIG}", clean)  # ... zipfile's last copy
                    continue
                if item.filename.endswith(CONFIG) and how in CRAFTED[:2]:
                    copies = [(evil_name, json.dumps(evil).encode()), (item.filename, data)]
                    for name, content in copies if evil_first else copies[::-1]:
                        target.writestr(name, content)
                    continue
                target.writestr(item, data)
            target.writestr(f"{root}/data/weights/weight_99", pickled(mark, wrap=False))
            if how == "a legacy weights file":  # data/weights/model.pt: unpickled as it is
                target.writestr(f"{root}/data/weights/model.pt", pickled(mark, wrap=False))
    return out.getvalue()


def _torch_reads_the_pickled_weight(content: bytes) -> bool:
    import torch

    reader = torch._C.PyTorchFileReader(io.BytesIO(content))
    return b'use_pickle": true' in reader.get_record(CONFIG)


def crafted_pt2(original: Path, mark: Path, how: str) -> bytes:
    """As an attacker would: of the two orders of the copies, the one torch reads wrongly."""
    for evil_first in (True, False):
        content = _crafted(original, mark, how, evil_first)
        if how not in CRAFTED[:2] or _torch_reads_the_pickled_weight(content):
            return content
    raise AssertionError(f"{how}: torch's reader picks the clean copy in both orders")


CRAFTED = (
    "two entries of one name",
    "names differing in case",
    "a second top-level folder",
    "a legacy weights file",
)


def _attacked_run(finished_run: Path, tmp_path: Path, mark: Path, how: str) -> Path:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    (run / "export" / "model.pt2").write_bytes(
        crafted_pt2(finished_run / "export/model.pt2", mark, how)
    )
    return run


@pytest.mark.parametrize("how", CRAFTED)
def test_a_crafted_pt2_is_refused_by_predict(
    how: str,
    finished_run: Path,
    tmp_path: Path,
    canary: Path,  # noqa: F811
) -> None:
    run = _attacked_run(finished_run, tmp_path, canary, how)
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(f"pixel_{i}" for i in range(64)) + "\n" + ",".join("0" * 64) + "\n")
    message = refused(cli("predict", str(run), str(rows), "--format", "pt2"), code=1)
    assert f"{run}/export/model.pt2 is not a plain export" in message
    assert len(message.splitlines()) == 1
    record(f"crafted pickle: export/model.pt2 ({how}) via predict", "exit 1, not run")


@pytest.mark.slow
@pytest.mark.parametrize("how", CRAFTED[:2])
def test_a_crafted_pt2_is_refused_by_serve(
    how: str,
    finished_run: Path,
    tmp_path: Path,
    canary: Path,  # noqa: F811
) -> None:
    """serve loads the export before it listens: a refused archive is exit 1, no server (so the
    command runs in this process: it returns before anything would listen)."""
    run = _attacked_run(finished_run, tmp_path, canary, how)
    message = refused(cli("serve", str(run), "--format", "pt2", "--port", "0"), code=1)
    assert f"{run}/export/model.pt2 is not a plain export" in message
    record(f"crafted pickle: export/model.pt2 ({how}) via serve", "exit 1, not run")


def test_a_plain_export_still_loads(finished_run: Path) -> None:
    from easytrain.deploy.pt2check import unsafe_parts

    assert unsafe_parts(finished_run / "export" / "model.pt2") == []
    assert sys.modules.get("tests.hardening.canary") is None
