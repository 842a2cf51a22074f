"""`easytrain report`: one self-contained HTML page."""

from __future__ import annotations

import re
from pathlib import Path

from easytrain.errors import ExitCode
from tests.conftest import cli, summary


def test_report_is_self_contained_and_shows_the_run(binary_run: Path) -> None:
    done = cli("report", str(binary_run))
    assert done.returncode == 0, done.stderr
    page = (binary_run / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I), "external asset"
    assert "<link" not in page and "<script" not in page
    images = re.findall(r"<img[^>]*src='([^']*)'", page)
    assert len(images) == len(list((binary_run / "plots").glob("*.png")))
    assert all(src.startswith("data:image/png;base64,") for src in images)
    result = summary(binary_run)
    for split in ("val", "test"):
        for value in result["metrics"][split].values():
            assert f"{value:.4f}" in page
    assert "malignant" in page and "benign" in page  # class balance and per-class table
    assert "Linear" in page  # model.txt
    assert "breast_cancer" in page and "threshold" in page  # the recipe
    assert "accuracy" in page and "&gt;= 0.5" in page and "pass" in page  # the gate


def test_report_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    done = cli("report", str(tmp_path))
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "not a run folder" in done.stderr
