"""Supervised fine-tuning speed: easytrain vs a hand-written transformers + peft loop vs Trainer.

The same work for each contender: the same model folder, the chats of data/chat.jsonl (repeated
--repeat times), LoRA (r 8, alpha 16, no dropout) on the model's default target layers, AdamW at
lr 2e-4, batch 8, one pass, labels on the answer tokens only (the prompt's are -100):

- easytrain, packed: `easytrain run` with `data: {source: chat, packing: true}`;
- easytrain, length buckets: the same without packing (batches of similar lengths, trimmed);
- the hand-written loop: the chats tokenized with the chat template, a shuffling DataLoader,
  each batch padded to its longest chat (DataCollatorForSeq2Seq), a peft model;
- Trainer: the same data and collator through transformers' Trainer.

Each runs in a fresh process, so peak memory (ru_maxrss; on CUDA the process's
torch.cuda.max_memory_allocated) is its own. tokens/s counts the real
(non-padding) tokens of the training chats over the training loop's seconds: wall-clock, and
the main thread's CPU seconds (time.thread_time), which other processes on a shared machine
barely change; the ratios are of CPU seconds. --rounds N runs every contender N times,
interleaved, and keeps each one's fastest round. --device cuda --bf16 runs each on the GPU under
bf16 autocast (easytrain's `device` and `train.precision: bf16`, torch.autocast in the
hand-written loop, TrainingArguments(bf16=True)); the clock then waits for the device. Every
contender loads the weights in the folder's own dtype (from_pretrained's default, dtype "auto").

    python -m benchmarks.llm                     # a random-weight tiny Llama, on CPU
    python -m benchmarks.llm --device cuda --bf16 --model DIR --repeat 1 --max-length 512
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.children import ROOT, peak_mb, run_child

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


def lora_model(folder: Path, device: str) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model: Any = AutoModelForCausalLM.from_pretrained(folder, dtype="auto")
    model.to(device)
    settings = LoraConfig(task_type="CAUSAL_LM", r=RANK, lora_alpha=2 * RANK, lora_dropout=0.0)
    return get_peft_model(model, settings)


class Clock:
    """Wall-clock and main-thread CPU seconds of what runs inside `with clock:`, summed."""

    def __init__(self, device: str = "cpu") -> None:
        self.seconds = self.cpu_seconds = 0.0
        self.cuda = device.startswith("cuda")

    def _sync(self) -> None:
        if self.cuda:  # queued kernels belong to the time of the code that queued them
            import torch

            torch.cuda.synchronize()

    def __enter__(self) -> Clock:
        self._sync()
        self._wall, self._cpu = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *_: object) -> None:
        self._sync()
        self.seconds += time.perf_counter() - self._wall
        self.cpu_seconds += time.thread_time() - self._cpu

    def result(self, tokens: int) -> dict[str, float]:
        return {"tokens": tokens, "seconds": self.seconds, "cpu_seconds": self.cpu_seconds}


def run_hand(folder: Path, repeat: int, max_length: int, device: str, bf16: bool) -> dict:
    import torch
    from torch.utils.data import DataLoader
    from transformers import AutoTokenizer, DataCollatorForSeq2Seq

    tokenizer = AutoTokenizer.from_pretrained(folder)
    rows = encoded(tokenizer, chats(repeat), max_length)
    model = lora_model(folder, device)
    collate = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
    # a list is a map-style data set (DataLoader's annotation wants a Dataset)
    loader: Any = DataLoader(rows, batch_size=BATCH, shuffle=True, collate_fn=collate)  # type: ignore[arg-type]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
    model.train()
    autocast = torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16)
    with Clock(device) as clock:
        for batch in loader:
            with autocast:
                loss = model(**{key: value.to(device) for key, value in batch.items()}).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    return clock.result(sum(len(r["input_ids"]) for r in rows))


def run_trainer(folder: Path, repeat: int, max_length: int, device: str, bf16: bool) -> dict:
    import datasets
    from transformers import AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainingArguments

    datasets.disable_progress_bars()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    rows = encoded(tokenizer, chats(repeat), max_length)
    train = datasets.Dataset.from_list(rows)
    model = lora_model(folder, device)
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
            bf16=bf16,
            use_cpu=device == "cpu",
        )
        collate = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
        trainer = Trainer(model=model, args=arguments, train_dataset=train, data_collator=collate)
        with Clock(device) as clock:
            trainer.train()
    return clock.result(sum(len(r["input_ids"]) for r in rows))


def run_easytrain(
    folder: Path, repeat: int, max_length: int, packing: bool, device: str, bf16: bool
) -> dict[str, float]:
    """`easytrain run` through the whole pipeline; the clock runs over its epoch's steps."""
    import easytrain
    from easytrain.engine import loop

    clock, train_epoch = Clock(device), loop.train_epoch

    def timed(*args: Any) -> Any:
        with clock:
            return train_epoch(*args)

    loop.train_epoch = timed  # type: ignore[assignment]

    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "chats.jsonl"
        data.write_text("".join(json.dumps({"messages": c}) + "\n" for c in chats(repeat)))
        recipe = {
            "name": "bench-llm",
            "device": device,
            "data": {"source": "chat", "path": str(data), "max_length": max_length,
                     "packing": packing, "prompts_to_sample": 0,
                     "split": {"val": 0.0, "test": 0.0}},
            "model": {"type": "hf", "name": str(folder), "trainable": "lora",
                      "lora": {"r": RANK, "alpha": 2 * RANK, "dropout": 0.0}},
            "train": {"epochs": 1, "batch_size": BATCH, "tensorboard": False,
                      "precision": "bf16" if bf16 else "32",
                      "monitor": "train_loss", "optimizer": {"name": "adamw", "lr": LR,
                                                             "weight_decay": 0.0}},
            "evaluate": {"plots": False},
        }  # fmt: skip
        easytrain.run(recipe, out=Path(work) / "run", quiet=True)
    from transformers import AutoTokenizer

    tokens = sum(len(r["input_ids"]) for r in encoded(AutoTokenizer.from_pretrained(folder),
                                                       chats(repeat), max_length))  # fmt: skip
    return clock.result(tokens)


def child(name: str, folder: Path, args: argparse.Namespace) -> None:
    work, on = (folder, args.repeat, args.max_length), (args.device, args.bf16)
    if name.startswith("easytrain"):
        result = run_easytrain(*work, "packed" in name, *on)
    elif name == "hand-written loop":
        result = run_hand(*work, *on)
    else:
        result = run_trainer(*work, *on)
    result["peak_mb"] = peak_mb(args.device)
    print(json.dumps(result))


def measure(name: str, folder: Path, args: argparse.Namespace) -> dict | None:
    return run_child(name, "benchmarks.llm", ["--child", name, "--model", str(folder),
                     "--repeat", str(args.repeat), "--max-length", str(args.max_length),
                     "--device", args.device, *(["--bf16"] if args.bf16 else [])])  # fmt: skip


def table(results: dict[str, dict | None], clock: str, memory: str = "peak memory") -> str:
    """The contenders' rates; the ratios by `clock` ("cpu_seconds" or "seconds")."""

    def rate(name: str, key: str) -> float | None:
        found = results.get(name)
        return found["tokens"] / found[key] if found else None

    hand, trainer = rate("hand-written loop", clock), rate("Trainer", clock)
    lines = [
        f"| contender | tokens/s | tokens/CPU-s | × hand-written | × Trainer | {memory} |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, found in results.items():
        speed = rate(name, clock)
        if found is None or speed is None:
            lines.append(f"| {name} | failed | | | | |")
            continue
        wall, cpu = found["tokens"] / found["seconds"], found["tokens"] / found["cpu_seconds"]
        versus = [f"{speed / base:.2f}×" if base else "" for base in (hand, trainer)]
        lines.append(
            f"| {name} | {wall:,.0f} | {cpu:,.0f} | {versus[0]} | {versus[1]} "
            f"| {found['peak_mb']:,.0f} MB |"
        )
    return "\n".join(lines)


def fastest(names: list[str], folder: Path, args: argparse.Namespace) -> dict[str, dict | None]:
    """Each contender's fastest of args.rounds runs (by CPU seconds), the rounds interleaved."""
    best: dict[str, dict | None] = dict.fromkeys(names)
    for _ in range(args.rounds):
        for name in names:
            found = measure(name, folder, args)
            kept = best[name]
            if found is not None and (kept is None or found["cpu_seconds"] < kept["cpu_seconds"]):
                best[name] = found
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model folder; default: a tiny Llama")
    parser.add_argument("--repeat", type=int, default=5, help="passes of data/chat.jsonl")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each; the fastest counts")
    parser.add_argument("--only", action="append", choices=CONTENDERS, help="repeatable")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (CPU or CUDA)")
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.model, args)
        return
    work = Path(tempfile.gettempdir()) / "et-llm"
    work.mkdir(exist_ok=True)
    folder = args.model or tiny_model(work)
    results = fastest(args.only or CONTENDERS, folder, args)
    import torch

    cuda = args.device.startswith("cuda")  # a GPU's time is not the host's CPU time: wall-clock
    print(f"{folder.name}, {len(chats(args.repeat))} chats, batch {BATCH}, LoRA r {RANK}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.device}"
          f"{', bf16 autocast' if args.bf16 else ''}, fastest of {args.rounds}; "
          f"ratios of {'wall-clock' if cuda else 'CPU'} seconds\n")  # fmt: skip
    memory = "peak CUDA memory (max_memory_allocated)" if cuda else "peak memory (RSS)"
    print(table(results, "seconds" if cuda else "cpu_seconds", memory))
    if None in results.values():
        sys.exit(1)  # a contender failed: its error is above


if __name__ == "__main__":
    main()
