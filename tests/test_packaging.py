"""The shipped recipes travel in the wheel, and the installed CLI finds them there.

pyproject.toml force-includes the top-level recipes/ folder as easytrain/recipes; these tests
build the real wheel, look inside it, install it into a temporary folder and run the CLI from
there (not from this checkout).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SHIPPED = sorted((REPO / "recipes").glob("*.yaml"))


def pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", *args, "--quiet", "--disable-pip-version-check"],
        check=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(REPO))
    (built,) = out.glob("easytrain-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the wheel installed in it, to put on PYTHONPATH."""
    target = tmp_path_factory.mktemp("site")
    pip("install", "--no-deps", "--target", str(target), str(wheel))
    return target


def run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python ARGS` with the installed wheel first on the import path, in `cwd`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_repo_ships_recipes():
    assert "digits.yaml" in [path.name for path in SHIPPED]


def test_wheel_holds_every_recipe_byte_for_byte(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for path in SHIPPED:
            member = f"easytrain/recipes/{path.name}"
            assert member in names, f"{member} is missing from {wheel.name}"
            assert archive.read(member) == path.read_bytes(), f"{member} differs from {path}"


def test_installed_cli_copies_digits_from_the_wheel(installed, tmp_path):
    where = run_installed(
        installed, tmp_path, "-c", "import easytrain.config.templates as r; print(r.recipes_dir())"
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == installed / "easytrain" / "recipes"  # not the checkout

    result = run_installed(installed, tmp_path, "-m", "easytrain", "recipes", "copy", "digits")

    assert result.returncode == 0, result.stderr
    copied = tmp_path / "digits.yaml"
    assert copied.is_file()
    shipped = (REPO / "recipes" / "digits.yaml").read_text()
    assert copied.read_text() == shipped.replace("recipes/digits.yaml", "digits.yaml")


def test_installed_cli_lists_every_recipe(installed, tmp_path):
    result = run_installed(installed, tmp_path, "-m", "easytrain", "recipes", "list")

    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert listed == [path.stem for path in SHIPPED]


def test_installed_cli_writes_sample_data_from_the_wheel(installed, tmp_path):
    result = run_installed(
        installed,
        tmp_path,
        "-m",
        "easytrain",
        "recipes",
        "copy",
        "table-classification",
        "--with-data",
    )
    assert result.returncode == 0, result.stderr
    written = tmp_path / "data" / "penguins.csv"
    assert written.read_bytes() == (REPO / "data" / "penguins.csv").read_bytes()


def test_wheel_metadata_names_the_extras_and_classifiers(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(name).decode()
    extras = {
        line.split(":", 1)[1].strip()
        for line in metadata.splitlines()
        if line.startswith("Provides-Extra:")
    }
    assert {"hf", "onnx", "serve", "tune", "explain", "imbalance", "mlflow", "parquet"} <= extras
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata
    assert "Classifier: Topic :: Scientific/Engineering :: Artificial Intelligence" in metadata
    entry = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
    assert entry, "the wheel declares no console script"


def test_the_wheel_leaves_mnist_out_and_the_installed_copy_says_it_downloads(
    wheel, installed, tmp_path
):
    with zipfile.ZipFile(wheel) as archive:
        assert not [n for n in archive.namelist() if "MNIST" in n or n.endswith("-ubyte.gz")]
    result = run_installed(
        installed, tmp_path, "-m", "easytrain", "recipes", "copy", "mnist", "--with-data"
    )
    assert result.returncode == 0, result.stderr
    assert "the recipe downloads it on its first run" in result.stderr
    assert (tmp_path / "mnist.yaml").is_file() and not (tmp_path / "data").exists()
