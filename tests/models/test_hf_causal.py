"""Causal language models (data.source chat, model.type hf) on a tiny random-weight Llama that the
tests build offline with a word-level chat tokenizer (tests/hf_models.py): answer-only labels,
packing, memorisation through a whole run, deterministic generation, the exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from easytrain.config.chat import ChatData
from easytrain.config.hf import HFConfig
from tests.conftest import cli
from tests.hf_models import chat_rows, chat_setup

pytest.importorskip("transformers")
pytest.importorskip("peft")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return chat_setup(tmp_path_factory.mktemp("chat"))


def loaded(setup: tuple[Path, Path], **keys):
    """The chats as chat.load makes them (every example in train), and the model config."""
    from easytrain.data import chat

    path, model = setup
    data = ChatData(path=path, split={"val": 0.0, "test": 0.0}, **keys)
    config = HFConfig(name=str(model))
    return chat.load(data, config), config


def causal(config: HFConfig, raw) -> torch.nn.Module:
    from easytrain.models.hf_causal import build_causal

    return build_causal(config, raw.encoding["chat"]).eval()


def test_labels_are_the_answer_tokens_and_prompt_logits_do_not_count(setup) -> None:
    from easytrain.models.hf_causal import LMLoss

    raw, _ = loaded(setup)
    x, y = torch.from_numpy(raw.x), torch.from_numpy(raw.y)
    answers = (y != -100) & (x >= 0)
    assert answers.any() and (y[answers] == x[answers]).all()  # labels are the answer ids
    assert ((y != -100).sum(1) < (x >= 0).sum(1)).all()  # and not the prompt's
    everything, _ = loaded(setup, train_on="all")
    assert (torch.from_numpy(everything.y) != -100).sum() == (x >= 0).sum()

    torch.manual_seed(0)
    logits = torch.randn(*x.shape, 40)
    loss = LMLoss()(logits, y)
    targets = torch.zeros_like(y, dtype=torch.bool)
    targets[:, :-1] = y[:, 1:] != -100  # positions whose next token is an answer token
    changed = logits.clone()
    changed[~targets] = torch.randn_like(changed[~targets]) * 10  # every prompt position
    assert torch.allclose(LMLoss()(changed, y), loss)
    changed[targets] += torch.randn_like(changed[targets])
    assert not torch.allclose(LMLoss()(changed, y), loss)


def test_packed_rows_give_the_loss_of_the_examples_one_by_one(setup) -> None:
    from easytrain.data.chat import SEGMENT
    from easytrain.models.hf_causal import LMLoss

    plain, config = loaded(setup, max_length=64)
    packed, _ = loaded(setup, max_length=64, packing=True)
    assert len(packed.x) < len(plain.x) and (packed.x >= SEGMENT).any()
    assert (packed.y != -100).sum() == (plain.y != -100).sum()  # nothing cut
    model = causal(config, plain)
    with torch.no_grad():
        one_by_one = LMLoss()(model(torch.from_numpy(plain.x)), torch.from_numpy(plain.y))
        together = LMLoss()(model(torch.from_numpy(packed.x)), torch.from_numpy(packed.y))
    assert abs(float(one_by_one) - float(together)) < 1e-5


def test_bad_rows_name_their_line(setup, tmp_path: Path) -> None:
    from easytrain.data import chat
    from easytrain.errors import RunFailed

    path = tmp_path / "bad.jsonl"
    rows = chat_rows(3)
    rows[1] = {"messages": [{"role": "robot", "content": "hi"}]}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(RunFailed, match=r"bad.jsonl:2: message 1 has role 'robot'"):
        chat.read_chats(ChatData(path=path))


def test_recipe_refuses_jinja_and_unknown_format_fields(setup) -> None:
    from pydantic import ValidationError

    path, _ = setup
    with pytest.raises(ValidationError, match="Jinja"):
        ChatData(path=path, template="{% for m in messages %}{{ m.content }}{% endfor %}")
    with pytest.raises(ValidationError, match="only"):
        ChatData(path=path, template="{prompt.__class__}")
    assert ChatData(path=path, template="Q: {prompt}\nA: ").template == "Q: {prompt}\nA: "


def write_recipe(folder: Path, setup, **model_keys) -> Path:
    path, model = setup
    keys = ", ".join(f"{k}: {v}" for k, v in {"trainable": "all", **model_keys}.items())
    recipe = folder / "recipe.yaml"
    recipe.write_text(
        f"""name: sft-test
data: {{source: chat, path: {path}, split: {{val: 0.0, test: 0.0}}, prompts_to_sample: 2}}
model: {{type: hf, name: {model}, {keys}}}
train: {{epochs: 100, batch_size: 8, optimizer: {{name: adamw, lr: 1.0e-2}}, monitor: train_loss,
        tensorboard: false}}
export: {{formats: [hf]}}
"""
    )
    return recipe


@pytest.fixture(scope="module")
def sft_run(setup, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sft")
    done = cli("run", str(write_recipe(folder, setup)), "--out", str(folder / "run"))
    assert done.returncode == 0, done.stderr
    return folder / "run"


def generated(run: Path, *args: str) -> list[str]:
    done = cli("generate", str(run), *args)
    assert done.returncode == 0, done.stderr
    return [json.loads(line)["generated"] for line in done.stdout.splitlines()]


@pytest.mark.slow
def test_fine_tuning_memorises_the_answers(sft_run: Path, tmp_path: Path) -> None:
    lines = (sft_run / "metrics.csv").read_text().splitlines()
    losses = [float(line.split(",")[1]) for line in lines[1:]]
    assert losses[-1] < losses[0] / 5, losses  # the answer tokens' loss falls
    prompts = tmp_path / "prompts.jsonl"
    rows = chat_rows(8)
    prompts.write_text(
        "".join(json.dumps({"prompt": r["messages"][0]["content"]}) + "\n" for r in rows)
    )
    answers = generated(sft_run, "--file", str(prompts), "--max-new-tokens", "12")
    assert answers == [r["messages"][1]["content"] for r in rows]
    # the exported folder, read by transformers alone, gives the same answer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = sft_run / "export" / "hf"
    model, tokenizer = (
        AutoModelForCausalLM.from_pretrained(folder),
        AutoTokenizer.from_pretrained(folder),
    )
    text = tokenizer.apply_chat_template(
        [rows[3]["messages"][0]], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    out = model.generate(ids, max_new_tokens=12, do_sample=False)
    assert tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip() == answers[3]


@pytest.mark.slow
def test_sampling_is_the_same_for_a_seed(sft_run: Path) -> None:
    args = ("What colour is the lamp ?", "--temperature", "1.5", "--max-new-tokens", "10")
    first = generated(sft_run, *args, "--seed", "7")
    assert generated(sft_run, *args, "--seed", "7") == first
    others = {tuple(generated(sft_run, *args, "--seed", str(s))) for s in range(3)}
    assert len(others) > 1  # a seed is what makes the draws differ
    refused = cli("predict", str(sft_run), "--text", "hi")
    assert refused.returncode == 2 and "easytrain generate" in refused.stderr


LORA_RECIPE = """name: sft-lora
seed: 3
data: {{source: chat, path: {path}, packing: true, max_length: 48, split: {{val: 0.2, test: 0.0}}}}
model: {{type: hf, name: {model}, trainable: lora, lora: {{r: 4, alpha: 8, dropout: 0.1}}}}
train:
  epochs: 6
  batch_size: 2
  optimizer: {{name: adamw, lr: 5.0e-3}}
  checkpoint_every_steps: 1
  tensorboard: false
export: {{formats: [hf]}}
"""


@pytest.fixture(scope="module")
def lora_recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lora")
    path, model = chat_setup(folder, count=24)
    recipe = folder / "recipe.yaml"
    recipe.write_text(LORA_RECIPE.format(path=path, model=model))
    return recipe


@pytest.fixture(scope="module")
def lora_run(lora_recipe: Path) -> Path:
    out = lora_recipe.parent / "run"
    done = cli("run", str(lora_recipe), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
def test_export_loads_with_transformers_alone_and_generates_the_same(lora_run: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    card = json.loads((lora_run / "export" / "model.json").read_text())
    assert card["checks"]["hf"]["max_abs_diff"] <= 1e-5  # merged logits = adapted logits
    folder = lora_run / "export" / "hf"
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    prompt = "What colour is the moon ?"
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=8, do_sample=False)
    ours = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip()
    assert generated(lora_run, prompt, "--max-new-tokens", "8") == [ours]

    base = AutoModelForCausalLM.from_pretrained(lora_recipe_model(lora_run))
    adapted = PeftModel.from_pretrained(base, lora_run / "export" / "adapter").eval()
    with torch.no_grad():
        difference = (adapted(ids).logits - model(ids).logits).abs().max()
    assert float(difference) < 1e-5  # the adapter alone on the base = the merged folder


def lora_recipe_model(run: Path) -> Path:
    return run.parent / "tiny-llama"


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_weights(lora_recipe: Path, lora_run: Path) -> None:
    import signal

    from tests.conftest import easytrain
    from tests.engine.test_resume import assert_same_weights, start, wait_for

    out = lora_recipe.parent / "killed"
    last = out / "checkpoints" / "last.pt"
    process = start(lora_recipe, out)
    assert wait_for(last, process, timeout=180)
    process.send_signal(signal.SIGKILL)  # at once: a quiet machine finishes the 6 epochs in ~1 s
    process.wait()
    assert torch.load(last, weights_only=True)["state"]["epoch"] < 6, "finished before the kill"
    resumed = easytrain("run", str(lora_recipe), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    weights = [
        torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]
        for run in (out, lora_run)
    ]
    assert any("lora_A" in key for key in weights[0])
    assert_same_weights(*weights)


def test_perplexity_gate_samples_and_report(setup, tmp_path: Path) -> None:
    path, model = setup
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"""data: {{source: chat, path: {path}, split: {{val: 0.25, test: 0.25}}}}
model: {{type: hf, name: {model}, trainable: lora}}
train: {{epochs: 2, batch_size: 4, tensorboard: false}}
evaluate: {{gates: {{perplexity: 1.5}}}}
"""
    )
    done = cli("run", str(recipe), "--out", str(tmp_path / "run"))
    assert done.returncode == 3, done.stderr  # a random model is far from perplexity 1.5
    assert "test perplexity" in done.stderr and "is not <= 1.5" in done.stderr
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]
    assert "val_loss" in header and "val_perplexity" in header
    rows = (tmp_path / "run" / "samples.jsonl").read_text().splitlines()
    assert len(rows) == 2 and json.loads(rows[0])["prompt"].startswith("<|user|> What colour")
    assert cli("report", str(tmp_path / "run")).returncode == 0
    assert "Sample generations" in (tmp_path / "run" / "report.html").read_text()


@pytest.mark.slow
def test_serve_generates_like_the_command(sft_run: Path) -> None:
    from tests.deploy.test_serve import _request, serving

    with serving(sft_run) as (port, _):
        body = {"prompts": ["What colour is the moon ?"], "max_new_tokens": 12}
        status, answer = _request(port, "POST", "/generate", body)
        assert status == 200 and answer == {"generated": ["The moon is silver ."]}, answer
        sampled = {"prompt": "What colour is the lamp ?", "temperature": 1.5, "seed": 4}
        assert _request(port, "POST", "/generate", sampled)[1]["generated"] == generated(
            sft_run, "What colour is the lamp ?", "--temperature", "1.5", "--seed", "4"
        )
        status, _ = _request(port, "POST", "/generate", {"prompt": "hi", "top_p": 0})
        assert status == 422


@pytest.mark.slow
def test_the_shipped_recipe_runs_with_a_model_folder(tmp_path: Path) -> None:
    """recipes/llm-sft.yaml as a user copies it, a tiny Llama in the model folder's place."""
    from tests.hf_models import tiny_llama

    copied = cli("recipes", "copy", "llm-sft", "recipe.yaml", "--with-data", cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    chats = [json.loads(line) for line in (tmp_path / "data" / "chat.jsonl").open()]
    texts = [m["content"] for chat in chats for m in chat["messages"]]
    tiny_llama(tmp_path / "models" / "Qwen2.5-0.5B-Instruct", texts)
    done = cli("run", "recipe.yaml", "train.epochs=1", "--out", "run", cwd=tmp_path)
    assert done.returncode in (0, 3), done.stderr  # a random tiny model may miss the gate
    result = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert result["metrics"]["test"]["perplexity"] > 1
    assert (tmp_path / "run" / "export" / "adapter" / "adapter_config.json").is_file()
    assert len((tmp_path / "run" / "samples.jsonl").read_text().splitlines()) == 3


def test_prompt_completion_csv_with_a_format_string_and_left_truncation(setup, tmp_path) -> None:
    from easytrain.data import chat
    from easytrain.models.hf_files import load_tokenizer

    path = tmp_path / "pairs.csv"
    path.write_text("question,answer\nWhat colour is the moon ?,The moon is silver .\n")
    _, model = setup
    tokenizer = load_tokenizer(HFConfig(name=str(model)))
    data = ChatData(path=path, prompt="question", completion="answer", template="Q {prompt} A ")
    rows, _ = chat.read_chats(data)
    ids, labels, prompt = chat.encode_chat(tokenizer, rows[0], data)
    assert prompt == "Q What colour is the moon ? A "
    answer = tokenizer.decode([t for t in labels if t != -100])
    assert answer == "The moon is silver . <|end|>"  # the answer and the end-of-text token
    cut = data.model_copy(update={"max_length": 4, "truncation": "left"})
    assert chat.encode_chat(tokenizer, rows[0], cut)[0] == ids[-4:]


def test_quantized_base_weights_need_cuda(setup, tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path, model = setup
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"data: {{source: chat, path: {path}}}\n"
        f"model: {{type: hf, name: {model}, trainable: lora, quantize: 4bit}}\n"
    )
    done = cli("run", str(recipe), "--out", str(tmp_path / "run"))
    assert done.returncode == 2, done.stderr
    assert "model.quantize: 4bit base weights need a CUDA GPU" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_language_model_trains_lora_unless_the_recipe_says_otherwise(setup, tmp_path) -> None:
    path, model = setup
    for keys, wanted in (("", "lora"), (", trainable: all", "all")):
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(
            f"data: {{source: chat, path: {path}}}\nmodel: {{type: hf, name: {model}{keys}}}\n"
        )
        done = cli("validate", str(recipe))
        assert done.returncode == 0, done.stderr
        assert f"trainable: {wanted}\n" in done.stdout
