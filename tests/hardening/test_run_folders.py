"""Run folders from elsewhere whose files link out of the folder: `report` never embeds what
they point at, and evaluate, predict, serve, export and --resume refuse such a file (exit 1)."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest

from tests.conftest import cli
from tests.hardening.tally import record
from tests.hardening.test_hostile import refused

SECRET = b"-----BEGIN OPENSSH PRIVATE KEY----- do-not-leak-7f3a9c"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "id_rsa"
    path.write_bytes(SECRET)
    return path


def _leaked(html: str) -> bool:
    return SECRET.decode() in html or base64.b64encode(SECRET).decode()[:40] in html


REPORT_LINKS = {
    "model.txt a symlink to a local file": ("model.txt", "link"),
    "plots/curves.png a symlink to a local file": ("plots/curves.png", "link"),
    "plots a symlink to a local folder": ("plots", "folder"),
    "plots/notes.png, a file the report does not expect": ("plots/notes.png", "file"),
}


@pytest.mark.parametrize("case", list(REPORT_LINKS))
def test_report_embeds_no_file_from_outside_the_run(
    case: str, finished_run: Path, tmp_path: Path, secret: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    relative, how = REPORT_LINKS[case]
    target = run / relative
    target.parent.mkdir(exist_ok=True)
    target.unlink(missing_ok=True)
    if how == "link":
        target.symlink_to(secret)
    elif how == "file":
        target.write_bytes(SECRET)
    else:
        (secret.parent / "elsewhere").mkdir()
        (secret.parent / "elsewhere" / "curves.png").write_bytes(SECRET)
        target.symlink_to(secret.parent / "elsewhere")
    result = cli("report", str(run))
    assert result.returncode == 0, result.stderr
    html = (run / "report.html").read_text()
    assert not _leaked(html)
    assert "<h2>Recipe</h2>" in html and "finished" in html  # the rest of the page is there
    record(f"run folder: {case}, via report", "left out of report.html")


READERS = {
    "evaluate": ["evaluate", "{run}"],
    "predict": ["predict", "{run}", "{rows}"],
    "export": ["export", "{run}", "--format", "state_dict"],
    "run --resume": ["run", "{run}/recipe.yaml", "--resume", "--out", "{run}"],
}
LINKED = {
    "evaluate": "checkpoints/best.pt",
    "predict": "preprocessing.json",
    "export": "checkpoints/best.pt",
    "run --resume": "checkpoints/last.pt",
}


@pytest.mark.parametrize("command", list(READERS))
def test_a_run_file_linking_out_of_the_folder_is_refused(
    command: str, finished_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    linked = LINKED[command]
    outside = tmp_path / "outside" / Path(linked).name
    outside.parent.mkdir()
    shutil.move(run / linked, outside)  # the same file, now reached through a link
    (run / linked).symlink_to(outside)
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(f"pixel_{i}" for i in range(64)) + "\n" + ",".join("0" * 64) + "\n")
    args = [a.format(run=run, rows=rows) for a in READERS[command]]
    message = refused(cli(*args), code=1)
    assert f"{run / linked} links outside the run folder" in message
    record(f"run folder: {linked} a symlink out of the folder, via {command}", "exit 1")


def test_a_symlinked_export_is_refused_by_serve(finished_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    outside = tmp_path / "model.pt2"
    shutil.move(run / "export" / "model.pt2", outside)
    (run / "export" / "model.pt2").symlink_to(outside)
    message = refused(cli("serve", str(run), "--format", "pt2", "--port", "0"), code=1)
    assert "links outside the run folder" in message
    record("run folder: export/model.pt2 a symlink out of the folder, via serve", "exit 1")


def test_links_inside_the_folder_still_work(finished_run: Path, tmp_path: Path) -> None:
    """A link that stays inside the run folder is an ordinary file of it."""
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    shutil.move(run / "checkpoints" / "best.pt", run / "checkpoints" / "kept.pt")
    (run / "checkpoints" / "best.pt").symlink_to("kept.pt")
    result = cli("export", str(run), "--format", "state_dict")
    assert result.returncode == 0, result.stderr
