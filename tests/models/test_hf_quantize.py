"""model.quantize (4/8-bit base weights through bitsandbytes) is judged by the run's device, not
by whether the machine has a GPU: a recipe that says device: cpu is refused by validate at the
line of model.quantize, and a run on the CPU (--device cpu, even on a CUDA machine) stops with
exit 2 before the model is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import cli


def write(tmp_path: Path, device: str, model: str = "models/tiny") -> Path:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: qlora\n"
        f"device: {device}\n"
        "data: {source: chat, path: chats.jsonl}\n"
        "model:\n"
        "  type: hf\n"
        f"  name: {model}\n"
        "  trainable: lora\n"
        "  quantize: 4bit\n"
    )
    return recipe


@pytest.mark.parametrize("device", ["cpu", "mps"])
def test_validate_refuses_quantize_off_cuda_at_its_line(tmp_path: Path, device: str) -> None:
    done = cli("validate", str(write(tmp_path, device)))
    assert done.returncode == 2, done.stderr
    assert "recipe.yaml:8:" in done.stderr  # the line of quantize: 4bit
    assert "model.quantize: 4bit base weights need a CUDA GPU (bitsandbytes), and this " in (
        done.stderr
    )
    assert f"device is {device}" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("device", ["auto", "cuda", "cuda:1"])
def test_validate_leaves_cuda_and_auto_to_the_run(tmp_path: Path, device: str) -> None:
    # validate never imports torch: whether auto finds a GPU is for the run to say
    done = cli("validate", str(write(tmp_path, device)))
    assert "model.quantize" not in done.stderr, done.stderr


@pytest.mark.slow
def test_a_run_on_the_cpu_is_refused_whatever_the_machine_has(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from tests.hf_models import chat_setup

    path, model = chat_setup(tmp_path)
    recipe = write(tmp_path, "auto", model=str(model))
    recipe.write_text(recipe.read_text().replace("chats.jsonl", str(path)))
    done = cli("run", str(recipe), "--device", "cpu", "--out", str(tmp_path / "run"))
    assert done.returncode == 2, done.stderr
    assert "model.quantize: 4bit base weights need a CUDA GPU" in done.stderr
    assert "this run is on cpu" in done.stderr and "Traceback" not in done.stderr
