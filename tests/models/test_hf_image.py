"""model.type hf on image folders: a tiny random-weight ViT with its own ViTImageProcessor, both
built here offline. The processor's size, mean and std prepare the images (easytrain's own
normalization settings are refused); the run learns separable images, its exported folder loads
with transformers alone, and predict takes image files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from easytrain.errors import ExitCode
from tests.conftest import cli, summary
from tests.data.makers import color_folder

pytest.importorskip("transformers")

MEAN, STD = [0.4, 0.45, 0.5], [0.2, 0.25, 0.3]


def tiny_vit(folder: Path) -> Path:
    """A random-weight ViT (16×16 images, patches of 4, hidden 32, 2 layers) and its processor,
    saved as a downloaded model folder is (config.json, model.safetensors,
    preprocessor_config.json)."""
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    config = ViTConfig(
        image_size=16,
        patch_size=4,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    torch.manual_seed(0)
    ViTModel(config, add_pooling_layer=False).save_pretrained(folder)
    processor = ViTImageProcessor(size={"height": 16, "width": 16}, image_mean=MEAN, image_std=STD)
    processor.save_pretrained(folder)
    return folder


def write_recipe(
    folder: Path, images: Path, model: Path, extra: str = "", data_keys: str = ""
) -> Path:
    path = folder / "recipe.yaml"
    path.write_text(
        f"""name: vit-colors
seed: 0
data: {{source: image_folder, path: {images}, cache_dir: {folder / "cache"},
       split: {{val: 0.2, test: 0.25}}{data_keys}}}
model: {{type: hf, name: {model}}}
train:
  epochs: 6
  batch_size: 8
  optimizer: {{name: adamw, lr: 1.0e-3, weight_decay: 0.01}}
  tensorboard: false
evaluate: {{metrics: [accuracy], plots: false}}
{extra}"""
    )
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("hf-images")
    images = color_folder(folder / "images", per_class=20)  # 12×10 RGB, red vs blue
    return images, tiny_vit(folder / "tiny-vit")


@pytest.fixture(scope="module")
def image_run(setup: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    images, model = setup
    folder = tmp_path_factory.mktemp("run")
    recipe = write_recipe(folder, images, model, "export: {formats: [hf, onnx]}\n")
    done = cli("run", str(recipe), "--out", str(folder / "run"))
    assert done.returncode == 0, done.stderr
    return folder / "run"


def test_vit_learns_separable_images(image_run: Path) -> None:
    lines = (image_run / "metrics.csv").read_text().splitlines()
    column = lines[0].split(",").index("train_loss")
    losses = [float(line.split(",")[column]) for line in lines[1:]]
    assert losses[-1] < 0.5 * losses[0], losses  # the loss falls
    assert summary(image_run)["metrics"]["test"]["accuracy"] >= 0.8  # chance is 0.5
    assert (image_run / "image_processor" / "preprocessor_config.json").is_file()


def test_inputs_are_what_the_processor_makes(image_run: Path, setup: tuple[Path, Path]) -> None:
    """The run's inputs equal ViTImageProcessor's pixel_values for an image already at its size."""
    from PIL import Image
    from transformers import AutoImageProcessor

    from easytrain.deploy.loaded import load_run
    from easytrain.deploy.predictor import Predictor

    file = image_run.parent / "exact.png"
    pixels = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(file)
    card = json.loads((image_run / "preprocessing.json").read_text())["preprocessing"]
    assert card["normalize"]["mean"] == pytest.approx(MEAN)
    assert card["normalize"]["std"] == pytest.approx(STD)
    processor = AutoImageProcessor.from_pretrained(setup[1], local_files_only=True)
    theirs = processor(images=[Image.open(file)], return_tensors="pt")["pixel_values"]
    ours = Predictor(load_run(image_run)).prepare.images([file], [file.name])
    assert ours.shape == theirs.shape == (1, 3, 16, 16)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_exported_folder_loads_with_transformers_alone(image_run: Path, setup: tuple) -> None:
    from PIL import Image
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    folder = image_run / "export" / "hf"
    processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
    model = AutoModelForImageClassification.from_pretrained(folder, local_files_only=True).eval()
    assert model.config.id2label == {0: "blue", 1: "red"}
    files = sorted((setup[0] / "red").iterdir())[:3] + sorted((setup[0] / "blue").iterdir())[:3]
    batch = processor(images=[Image.open(f).convert("RGB") for f in files], return_tensors="pt")
    with torch.no_grad():
        found = model(**batch).logits.argmax(dim=1).tolist()
    assert [model.config.id2label[i] for i in found] == ["red"] * 3 + ["blue"] * 3


def test_predict_takes_image_files(image_run: Path, setup: tuple[Path, Path]) -> None:
    red, blue = (
        sorted((setup[0] / "red").glob("*.png"))[0],
        sorted((setup[0] / "blue").iterdir())[0],
    )
    for export in ("checkpoint", "onnx"):
        args = ["--format", export] if export != "checkpoint" else []
        done = cli("predict", str(image_run), str(red), str(blue), *args)
        assert done.returncode == 0, done.stderr
        answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        assert [a["class"] for a in answers] == ["red", "blue"], done.stdout


@pytest.mark.parametrize(
    ("data_keys", "extra", "where"),
    [
        (", image_size: 32", "", "recipe.yaml:4:"),
        (", channels: 1", "", "recipe.yaml:4:"),
        ("", "preprocess: {normalize: false}\n", "recipe.yaml:12:"),
        ("", "preprocess: {mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\n", "recipe.yaml:12:"),
    ],
)
def test_settings_the_processor_replaces_are_refused(
    setup: tuple[Path, Path], tmp_path: Path, data_keys: str, extra: str, where: str
) -> None:
    images, model = setup
    recipe = write_recipe(tmp_path, images, model, extra, data_keys)
    done = cli("validate", str(recipe))
    assert done.returncode == ExitCode.BAD_RECIPE, done.stdout + done.stderr
    assert where in done.stderr and "image processor" in done.stderr, done.stderr


@pytest.mark.parametrize("trainable", ["head", "lora"])
def test_head_only_and_lora_keep_the_pretrained_weights(
    setup: tuple[Path, Path], tmp_path: Path, trainable: str
) -> None:
    from transformers import AutoModelForImageClassification

    pytest.importorskip("peft")
    images, model = setup
    recipe = write_recipe(tmp_path, images, model, "export: {formats: [hf]}\n")
    out = tmp_path / "run"
    done = cli("run", str(recipe), "--out", str(out), "train.epochs=2",
               f"model.trainable={trainable}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    base = AutoModelForImageClassification.from_pretrained(model, num_labels=2).state_dict()
    trained = torch.load(out / "checkpoints" / "last.pt", weights_only=True)["model"]
    # peft's names: model.base_model.model.<name> and .base_layer. beside the adapters
    plain = {
        k.removeprefix("model.").removeprefix("base_model.model.").replace(".base_layer", ""): v
        for k, v in trained.items()
        if "lora_" not in k
    }
    kept = [name for name in base if not name.startswith("classifier")]
    assert kept and all(torch.equal(plain[name], base[name]) for name in kept)
    if trainable == "lora":
        assert any("lora_A" in key for key in trained)
    assert (out / "export" / "hf" / "preprocessor_config.json").is_file()
