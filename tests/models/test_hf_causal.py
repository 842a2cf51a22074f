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


@pytest.mark.slow
def test_sampling_is_the_same_for_a_seed(sft_run: Path) -> None:
    args = ("What colour is the lamp ?", "--temperature", "1.5", "--max-new-tokens", "10")
    first = generated(sft_run, *args, "--seed", "7")
    assert generated(sft_run, *args, "--seed", "7") == first
    others = {tuple(generated(sft_run, *args, "--seed", str(s))) for s in range(3)}
    assert len(others) > 1  # a seed is what makes the draws differ
