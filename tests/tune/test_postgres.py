"""--storage postgresql://…: a real PostgreSQL server, started by this test, holds the study.

The server runs from the machine's PostgreSQL binaries (PATH or /usr/lib/postgresql/*/bin). Where
they are missing and we are root with apt-get, the test installs Debian's postgresql package
first. It is skipped, with the reason, only where the server cannot be installed or started.
PostgreSQL refuses to run as root, so as root the server runs as the user `nobody`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from glob import glob
from pathlib import Path

import pytest

from tests.conftest import cli
from tests.tune.conftest import study_rows, write_search

TOOLS = ("initdb", "pg_ctl", "createdb")
pytestmark = pytest.mark.timeout(600)  # room for apt-get on a machine without PostgreSQL


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    folders = [Path(found).resolve().parent] if found else []
    folders += [Path(p) for p in sorted(glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in folders:
        if all((folder / tool).exists() for tool in TOOLS):
            return folder
    return None


def _install() -> str:
    """Try Debian's package (root only); '' on success, else why not."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "PostgreSQL is not installed (apt-get install postgresql needs root)"
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"]
    error = ""
    for step in (install, ["apt-get", "update", "-q"], install):  # update only if needed
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=150, env=env)
        except subprocess.TimeoutExpired:
            return f"PostgreSQL is not installed and `{' '.join(step)}` took over 150 s"
        error = done.stderr[-300:]
        if done.returncode == 0 and step is install and _bin_dir():
            return ""
    return f"PostgreSQL is not installed and apt-get could not install it: {error}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway server on a free loopback port; its URL with one empty database."""
    pytest.importorskip(
        "psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')"
    )
    if _bin_dir() is None:
        reason = _install()
        if reason:
            pytest.skip(reason)
    folder = _bin_dir()
    assert folder is not None
    as_user: list[str] = []
    data = Path(tempfile.mkdtemp(prefix="easytrain-pg-"))
    if os.geteuid() == 0:  # postgres will not run as root
        if not shutil.which("runuser"):
            pytest.skip("running as root and runuser is missing: cannot start PostgreSQL as nobody")
        nobody = pwd.getpwnam("nobody")
        os.chown(data, nobody.pw_uid, nobody.pw_gid)
        as_user = ["runuser", "-u", "nobody", "--"]
    port, cluster = _free_port(), data / "cluster"

    def run(*command: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*as_user, *map(str, command)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=data,
            env=os.environ | {"LC_ALL": "C"},
        )

    init = run(
        folder / "initdb",
        "-D",
        cluster,
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-locale",
        "-E",
        "UTF8",
    )
    if init.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr[-300:]}")
    options = f"-p {port} -h 127.0.0.1 -k {data} -c fsync=off -c full_page_writes=off"
    start = run(
        folder / "pg_ctl",
        "-D",
        cluster,
        "-l",
        data / "server.log",
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
        timeout=90,
    )
    try:
        if start.returncode != 0:
            log = (data / "server.log").read_text()[-300:] if (data / "server.log").exists() else ""
            pytest.skip(f"PostgreSQL did not start: {start.stderr[-300:]} {log}")
        created = run(
            folder / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "easytrain"
        )
        assert created.returncode == 0, created.stderr
        yield f"postgresql://postgres@127.0.0.1:{port}/easytrain"
    finally:
        run(folder / "pg_ctl", "-D", cluster, "-m", "immediate", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)


def test_a_study_in_postgresql_is_shared_by_two_machines(postgres: str, tmp_path: Path) -> None:
    import optuna

    recipe = write_search(tmp_path, epochs=2, trials=2)
    first = cli(
        "tune",
        str(recipe),
        "--storage",
        postgres,
        "--study",
        "shared",
        "--out",
        str(tmp_path / "machine-a"),
    )
    assert first.returncode == 0, first.stderr
    assert "study shared (postgresql://postgres@127.0.0.1" in first.stderr
    assert len(study_rows(tmp_path / "machine-a")) == 2

    # a second machine joins with the same storage and study name, and a larger budget
    second = cli(
        "tune",
        str(recipe),
        "--storage",
        postgres,
        "--study",
        "shared",
        "--trials",
        "3",
        "--out",
        str(tmp_path / "machine-b"),
    )
    assert second.returncode == 0, second.stderr
    assert "2 trials done" in second.stderr
    study = optuna.load_study(study_name="shared", storage=postgres)
    assert [t.number for t in study.trials] == [0, 1, 2]
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)
    assert sorted(p.name for p in (tmp_path / "machine-b" / "trials").iterdir()) == ["2"]
    assert len(study_rows(tmp_path / "machine-b")) == 3, "study.csv lists the whole study"
