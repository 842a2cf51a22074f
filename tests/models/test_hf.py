"""model.type hf on a tiny random-weight BERT that the tests build offline (tests/hf_models.py):
full, head-only and LoRA fine-tuning, the exports (Hugging Face folder, ONNX, pt2), predict and
serve on raw text, and the refusals (hub id offline, remote code, settings that do not apply)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from easytrain.errors import ExitCode
from tests.conftest import cli, easytrain, summary
from tests.hf_models import needs_remote_code, text_setup

pytest.importorskip("transformers")
pytest.importorskip("peft")

TEXTS = ["the film was good", "a dull and cold day", "superb cast , lovely story", "sad"]


def write_recipe(folder: Path, csv: Path, model: Path | str, extra: str = "", **model_keys) -> Path:
    keys = ", ".join(f"{k}: {v}" for k, v in {"max_length": 32, **model_keys}.items())
    path = folder / "recipe.yaml"
    path.write_text(
        f"""name: hf-test
data: {{source: text, path: {csv}, text: review, target: verdict}}
model: {{type: hf, name: {model}, {keys}}}
train:
  epochs: 6
  batch_size: 16
  optimizer: {{name: adamw, lr: 5.0e-3, weight_decay: 0.01}}
  scheduler: {{name: linear, warmup_ratio: 0.1}}
  tensorboard: false
evaluate: {{metrics: [accuracy]}}
{extra}"""
    )
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return text_setup(tmp_path_factory.mktemp("hf"))


@pytest.fixture(scope="module")
def full_run(setup: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    csv, model = setup
    folder = tmp_path_factory.mktemp("full")
    recipe = write_recipe(folder, csv, model, "export: {formats: [hf, onnx, pt2]}\n")
    done = cli("run", str(recipe), "--out", str(folder / "run"))
    assert done.returncode == 0, done.stderr
    return folder / "run"


def pretrained(model: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(model / "model.safetensors")


def best(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "best.pt", weights_only=True)["model"]


def test_full_fine_tuning_learns_separable_text(full_run: Path) -> None:
    losses = [
        float(line.split(",")[1])
        for line in (full_run / "metrics.csv").read_text().splitlines()[1:]
    ]
    assert losses[-1] < 0.5 * losses[0], losses  # the loss falls
    assert summary(full_run)["metrics"]["test"]["accuracy"] >= 0.8  # chance is 0.5
    assert (full_run / "tokenizer" / "tokenizer.json").is_file()
    card = json.loads((full_run / "preprocessing.json").read_text())
    assert card["preprocessing"]["encoding"]["text"]["tokenizer"] == "tokenizer"


def test_exported_hf_folder_loads_with_transformers_alone(full_run: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from easytrain.deploy.loaded import load_run
    from easytrain.deploy.predictor import Predictor

    folder = full_run / "export" / "hf"
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True).eval()
    assert model.config.id2label == {0: "neg", 1: "pos"}
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        theirs = model(**batch).logits
    predictor = Predictor(load_run(full_run))
    ours = predictor.outputs(predictor.prepare.texts(TEXTS, TEXTS))
    assert torch.allclose(theirs, ours, atol=1e-5)


def test_onnx_and_pt2_take_any_batch_and_sequence_length(full_run: Path) -> None:
    from easytrain.deploy import formats
    from easytrain.deploy.loaded import load_run

    run = load_run(full_run)
    ids = run.sample
    for name in ("onnx", "pt2"):
        runner = formats.load(name, full_run / "export" / formats.FILES[name], run.architecture)
        for rows, width in ((2, ids.shape[1]), (5, 4), (1, 9)):
            x = ids[:rows, :width].clone()  # real tokens and -1 padding, cut anywhere
            with torch.no_grad():
                expected = run.model(x)
            got = runner(x)
            assert got.shape == expected.shape
            assert torch.allclose(got, expected, atol=1e-4), (name, rows, width)


def test_predict_takes_raw_text(full_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "answers.json"
    done = cli(
        "predict", str(full_run), "the cast was superb", "--text", "a grim day", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    answers = json.loads(out.read_text())
    assert [(a["input"], a["class"]) for a in answers] == [("--text 1", "neg"), ("text 1", "pos")]
    onnx = cli("predict", str(full_run), "the cast was superb", "--format", "onnx")
    assert onnx.returncode == 0 and json.loads(onnx.stdout)["class"] == "pos"


@pytest.mark.slow
def test_serve_answers_raw_text(full_run: Path) -> None:
    from tests.deploy.test_serve import _request, serving

    with serving(full_run) as (port, _):
        status, body = _request(
            port, "POST", "/predict", {"texts": ["so lovely", "awful and dull"]}
        )
        assert status == 200, body
        assert [p["class"] for p in body["predictions"]] == ["pos", "neg"]
        status, body = _request(port, "POST", "/predict", {"texts": ["  "]})
        assert status == 422 and "empty" in json.dumps(body)


def test_head_only_changes_only_the_head(setup: tuple[Path, Path], tmp_path: Path) -> None:
    csv, model = setup
    recipe = write_recipe(tmp_path, csv, model, trainable="head")
    done = cli("run", str(recipe), "--out", str(tmp_path / "run"), "train.epochs=2")
    assert done.returncode == 0, done.stderr
    before, after = pretrained(model), best(tmp_path / "run")
    head = [k for k in after if "classifier" in k]
    assert head and all(after[k].abs().sum() > 0 for k in head)
    for key, value in before.items():  # every pretrained weight, bit for bit
        assert torch.equal(after[f"model.bert.{key}"], value), key


def test_lora_keeps_the_base_and_its_merged_export_matches(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    from easytrain.deploy import formats
    from easytrain.deploy.loaded import load_run

    csv, model = setup
    recipe = write_recipe(tmp_path, csv, model, "export: {formats: [hf]}\n", trainable="lora")
    # with gradient checkpointing and bf16 autocast, which change neither of these
    done = cli(
        "run", str(recipe), "--out", str(tmp_path / "run"), "train.epochs=2",
        "model.gradient_checkpointing=true", "train.precision=bf16",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    before, after = pretrained(model), best(tmp_path / "run")
    prefix = "model.base_model.model.bert."
    for key, value in before.items():
        name = prefix + key
        if name not in after:  # a layer with an adapter keeps its weight as base_layer
            name = name.replace(".weight", ".base_layer.weight").replace(
                ".bias", ".base_layer.bias"
            )
        assert torch.equal(after[name], value), key
    adapters = [k for k in after if "lora_B" in k]
    assert adapters and any(after[k].abs().sum() > 0 for k in adapters)  # the adapters trained
    run = load_run(tmp_path / "run")
    merged = formats.load("hf", tmp_path / "run" / "export" / "hf", run.architecture)
    with torch.no_grad():
        unmerged, folded = run.model(run.sample), merged(run.sample)
    # merging adds B·A into each weight: the same function up to float32 rounding
    assert torch.allclose(unmerged, folded, atol=1e-5)
    saved = json.loads((tmp_path / "run" / "export" / "hf" / "config.json").read_text())
    assert "lora" not in json.dumps(saved).lower()


def test_dry_run_counts_trainable_parameters(setup: tuple[Path, Path], tmp_path: Path) -> None:
    csv, model = setup
    recipe = write_recipe(tmp_path, csv, model)
    plans = {}
    for trainable in ("all", "head", "lora"):
        done = cli("run", str(recipe), "--dry-run", "--json", f"model.trainable={trainable}")
        assert done.returncode == 0, done.stderr
        plans[trainable] = json.loads(done.stdout)
    total = plans["all"]["parameters"]
    assert plans["all"]["trainable_parameters"] == total
    assert plans["head"]["trainable_parameters"] == 66  # 32 × 2 + 2
    assert plans["head"]["parameters"] == total
    assert 66 < plans["lora"]["trainable_parameters"] < total // 5
    memory = {k: p["memory_bytes"]["optimizer"] for k, p in plans.items()}
    assert memory["head"] < memory["lora"] < memory["all"]


def test_settings_that_do_not_apply_are_refused_where_they_are(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    csv, model = setup
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"""name: x
data:
  source: text
  path: {csv}
  target: verdict
  vocab_size: 5000
  lowercase: false
model:
  type: hf
  name: {model}
  layers: 2
"""
    )
    done = cli("validate", str(recipe))
    assert done.returncode == ExitCode.BAD_RECIPE
    assert (
        "r.yaml:6:3 data.vocab_size: 'vocab_size' does not apply with model.type hf" in done.stderr
    )
    assert "r.yaml:7:3 data.lowercase:" in done.stderr
    # a cnn's layer list is not an hf model's: hf's layers name the blocks to fine-tune
    assert "r.yaml:11:3 model.layers: expected a list, got 2" in done.stderr
    table = recipe.read_text().replace("source: text", "source: table")
    recipe.write_text(table.replace("  vocab_size: 5000\n  lowercase: false\n", ""))
    done = cli("validate", str(recipe))
    assert "model.type: hf models read text" in done.stderr


def test_a_model_that_needs_its_own_code_is_refused_without_allow_code(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    csv, model = setup
    custom = needs_remote_code(Path(shutil.copytree(model, tmp_path / "custom")))
    recipe = write_recipe(tmp_path, csv, custom)
    done = cli("run", str(recipe), "--out", str(tmp_path / "run"))
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "model.trust_remote_code: true and pass --allow-code" in done.stderr
    assert "remote code ran" not in done.stderr + done.stdout
    recipe.write_text(
        recipe.read_text().replace("max_length: 32", "max_length: 32, trust_remote_code: true")
    )
    done = cli("validate", str(recipe))
    assert done.returncode == ExitCode.BAD_RECIPE and "--allow-code" in done.stderr


@pytest.mark.slow
def test_a_hub_id_offline_and_not_cached_exits_2_saying_what_to_put_where(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    csv, _ = setup
    recipe = write_recipe(tmp_path, csv, "someone/not-a-cached-model")
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    done = easytrain("run", str(recipe), "--out", str(tmp_path / "run"), env=env)
    assert done.returncode == ExitCode.BAD_RECIPE, done.stderr
    assert "not a local folder and not in the Hugging Face cache" in done.stderr
    assert "config.json, model.safetensors, tokenizer.json" in done.stderr
    assert "models/not-a-cached-model/" in done.stderr
    assert "Traceback" not in done.stderr
    missing = write_recipe(tmp_path, csv, "./models/absent")
    done = cli("validate", str(missing))  # a path is checked with the recipe, at its line
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "recipe.yaml:3:19 model.name: no such folder: ./models/absent" in done.stderr


def test_pickled_weights_are_refused(setup: tuple[Path, Path], tmp_path: Path) -> None:
    csv, model = setup
    pickled = Path(shutil.copytree(model, tmp_path / "pickled"))
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    done = cli("run", str(write_recipe(tmp_path, csv, pickled)), "--out", str(tmp_path / "run"))
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "only pytorch_model.bin, pickled weights" in done.stderr
    assert "safetensors only" in done.stderr


def test_evaluate_scores_new_texts_through_the_saved_tokenizer(
    full_run: Path, setup: tuple[Path, Path]
) -> None:
    csv, _ = setup
    done = cli("evaluate", str(full_run), "--data", f"path={csv}", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["metrics"]["test"]["accuracy"] >= 0.8
