"""Supervised fine-tuning speed: easytrain vs a hand-written transformers + peft loop vs Trainer.

The same work for each contender: the same model folder, the chats of data/chat.jsonl (repeated
--repeat times), LoRA (r 8, alpha 16, no dropout) on the model's default target layers, AdamW at
lr 2e-4, batch 8, one pass, labels on the answer tokens only (the prompt's are -100):

- easytrain, packed: `easytrain run` with `data: {source: chat, packing: true}`;
- easytrain, length buckets: the same without packing (batches of similar lengths, trimmed);
- the hand-written loop: the chats tokenized with the chat template, a shuffling DataLoader,
  each batch padded to its longest chat (DataCollatorForSeq2Seq), a peft model;
- Trainer: the same data and collator through transformers' Trainer.

Each runs in a fresh process, so peak memory (ru_maxrss) is its own. tokens/s counts the real
(non-padding) tokens of the training chats over the training loop's seconds.

    python -m benchmarks.llm                     # a random-weight tiny Llama, on CPU
    python -m benchmarks.llm --model DIR --repeat 1 --max-length 512   # a real model (CUDA)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LR, BATCH, RANK = 2e-4, 8, 8
CONTENDERS = ["easytrain, packed", "easytrain, length buckets", "hand-written loop", "Trainer"]


def chats(repeat: int) -> list[list[dict[str, str]]]:
    rows = [json.loads(line)["messages"] for line in (ROOT / "data" / "chat.jsonl").open()]
    return rows * repeat


def tiny_model(work: Path) -> Path:
    """A random-weight Llama (hidden 64, 2 layers) with a word-level chat tokenizer."""
    sys.path.insert(0, str(ROOT))
    from tests.hf_models import tiny_llama

    folder = work / "tiny-llama"
    if not (folder / "config.json").is_file():
        texts = [m["content"] for chat in chats(1) for m in chat]
        tiny_llama(folder, texts, hidden=64)
    return folder


def encoded(tokenizer: Any, rows: list, max_length: int) -> list[dict[str, list[int]]]:
    """input_ids and labels (-100 on the prompt) of each chat's last answer."""
    found = []
    for chat in rows:
        head = tokenizer.apply_chat_template(chat[:-1], tokenize=False, add_generation_prompt=True)
        text = tokenizer.apply_chat_template(chat, tokenize=False)
        prompt = tokenizer(head, add_special_tokens=False)["input_ids"]
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][:max_length]
        labels = [-100] * len(prompt) + ids[len(prompt) :]
        found.append({"input_ids": ids, "labels": labels[: len(ids)]})
    return found


def lora_model(folder: Path) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    settings = LoraConfig(task_type="CAUSAL_LM", r=RANK, lora_alpha=2 * RANK, lora_dropout=0.0)
    return get_peft_model(model, settings)


def run_hand(folder: Path, repeat: int, max_length: int) -> dict[str, float]:
    import torch
    from torch.utils.data import DataLoader
    from transformers import AutoTokenizer, DataCollatorForSeq2Seq

    tokenizer = AutoTokenizer.from_pretrained(folder)
    rows = encoded(tokenizer, chats(repeat), max_length)
    model = lora_model(folder)
    collate = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
    loader = DataLoader(rows, batch_size=BATCH, shuffle=True, collate_fn=collate)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
    model.train()
    started = time.perf_counter()
    for batch in loader:
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    seconds = time.perf_counter() - started
    return {"tokens": sum(len(r["input_ids"]) for r in rows), "seconds": seconds}


def run_trainer(folder: Path, repeat: int, max_length: int) -> dict[str, float]:
    import datasets
    from transformers import AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainingArguments

    datasets.disable_progress_bars()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    rows = encoded(tokenizer, chats(repeat), max_length)
    train = datasets.Dataset.from_list(rows)
    model = lora_model(folder)
    with tempfile.TemporaryDirectory() as out:
        arguments = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=BATCH,
            num_train_epochs=1,
            learning_rate=LR,
            lr_scheduler_type="constant",
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=0,
        )
        collate = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
        trainer = Trainer(model=model, args=arguments, train_dataset=train, data_collator=collate)
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    return {"tokens": sum(len(r["input_ids"]) for r in rows), "seconds": seconds}


def run_easytrain(folder: Path, repeat: int, max_length: int, packing: bool) -> dict[str, float]:
    """`easytrain run` through the whole pipeline; the loop's seconds from metrics.csv."""
    import easytrain

    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "chats.jsonl"
        data.write_text("".join(json.dumps({"messages": c}) + "\n" for c in chats(repeat)))
        recipe = {
            "name": "bench-llm",
            "data": {"source": "chat", "path": str(data), "max_length": max_length,
                     "packing": packing, "prompts_to_sample": 0,
                     "split": {"val": 0.0, "test": 0.0}},
            "model": {"type": "hf", "name": str(folder), "trainable": "lora",
                      "lora": {"r": RANK, "alpha": 2 * RANK, "dropout": 0.0}},
            "train": {"epochs": 1, "batch_size": BATCH, "tensorboard": False,
                      "monitor": "train_loss", "optimizer": {"name": "adamw", "lr": LR,
                                                             "weight_decay": 0.0}},
            "evaluate": {"plots": False},
        }  # fmt: skip
        run = easytrain.run(recipe, out=Path(work) / "run", quiet=True)
        lines = (run.run_dir / "metrics.csv").read_text().splitlines()
        header, last = lines[0].split(","), lines[-1].split(",")
    from transformers import AutoTokenizer

    tokens = sum(len(r["input_ids"]) for r in encoded(AutoTokenizer.from_pretrained(folder),
                                                       chats(repeat), max_length))  # fmt: skip
    return {"tokens": tokens, "seconds": float(last[header.index("seconds")])}


def child(name: str, folder: Path, repeat: int, max_length: int) -> None:
    if name.startswith("easytrain"):
        result = run_easytrain(folder, repeat, max_length, packing="packed" in name)
    elif name == "hand-written loop":
        result = run_hand(folder, repeat, max_length)
    else:
        result = run_trainer(folder, repeat, max_length)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(name: str, folder: Path, repeat: int, max_length: int) -> dict | None:
    command = [sys.executable, "-m", "benchmarks.llm", "--child", name, "--model", str(folder),
               "--repeat", str(repeat), "--max-length", str(max_length)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        print(f"{name} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: dict[str, dict | None]) -> str:
    def rate(name: str) -> float | None:
        found = results.get(name)
        return found["tokens"] / found["seconds"] if found else None

    hand, trainer = rate("hand-written loop"), rate("Trainer")
    lines = [
        "| contender | tokens/s | × hand-written | × Trainer | peak memory |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, found in results.items():
        speed = rate(name)
        if found is None or speed is None:
            lines.append(f"| {name} | failed | | | |")
            continue
        versus = [f"{speed / base:.2f}×" if base else "" for base in (hand, trainer)]
        lines.append(
            f"| {name} | {speed:,.0f} | {versus[0]} | {versus[1]} | {found['peak_mb']:,.0f} MB |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model folder; default: a tiny Llama")
    parser.add_argument("--repeat", type=int, default=5, help="passes of data/chat.jsonl")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--only", action="append", choices=CONTENDERS, help="repeatable")
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.model, args.repeat, args.max_length)
        return
    work = Path(tempfile.gettempdir()) / "et-llm"
    work.mkdir(exist_ok=True)
    folder = args.model or tiny_model(work)
    results = {name: measure(name, folder, args.repeat, args.max_length)
               for name in args.only or CONTENDERS}  # fmt: skip
    import torch

    print(f"{folder.name}, {len(chats(args.repeat))} chats, batch {BATCH}, LoRA r {RANK}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")  # fmt: skip
    print(table(results))


if __name__ == "__main__":
    main()
