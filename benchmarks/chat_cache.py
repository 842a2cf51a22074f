"""The chat cache (data.cache, data.stream): what loading chat data costs through each path.

N chats of the shapes tests/hf_models.py makes (a question repeated 1-4 times, a short answer) and
a random-weight tiny Llama with their word-level tokenizer are written to a temporary folder;
then each path loads them in a fresh process, through data.chat.load as a run does:

- memory: data.cache: false, read with pandas and tokenized, every run;
- miss: the first run with the cache: tokenized through datasets into the Arrow file;
- hit: a later run: the Arrow file opened, the rows read into padded arrays;
- stream: a later run with data.stream: true: the rows stay in the file; the time to read a
  batch of 8 (ids and labels) from it is measured over 200 random batches.

Each line gives wall and CPU seconds of the load (CPU seconds barely change on a busy machine)
and the peak memory it adds over the imports and the tokenizer (ru_maxrss).

    python -m benchmarks.chat_cache --chats 100000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make(folder: Path, count: int) -> None:
    from tests.hf_models import chat_rows, tiny_llama

    rows = chat_rows(8)
    tiny_llama(folder / "model", [m["content"] for r in rows for m in r["messages"]])
    rng = random.Random(0)
    with (folder / "chats.jsonl").open("w") as file:
        for i in range(count):
            question, answer = (m["content"] for m in rows[i % 8]["messages"])
            messages = [
                {"role": "user", "content": " ".join([question] * rng.randint(1, 4))},
                {"role": "assistant", "content": answer},
            ]
            file.write(json.dumps({"messages": messages}) + "\n")


def measure(folder: Path, path: str) -> dict:
    """One load in this process (the child's side)."""
    import torch

    from easytrain.config.chat import ChatData
    from easytrain.config.hf import HFConfig
    from easytrain.data import chat, chat_split  # noqa: F401  (and datasets, below)
    from easytrain.models.hf_files import load_config, load_tokenizer

    config = HFConfig(name=str(folder / "model"))
    load_tokenizer(config), load_config(config)
    __import__("datasets")
    data = ChatData(
        path=folder / "chats.jsonl",
        cache_dir=folder / "cache",
        cache=path != "memory",
        stream=path == "stream",
    )
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.process_time()
    raw = chat.load(data, config, seed=0)
    found = {
        "path": path,
        "wall_s": round(time.perf_counter() - wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "added_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base),
        "note": raw.notes[0][:60],
    }
    if raw.served is not None:
        train = raw.served["train"]
        generator = torch.Generator().manual_seed(0)
        batches = [torch.randint(len(train), (8,), generator=generator) for _ in range(200)]
        start = time.perf_counter()
        for batch in batches:
            train.x[batch], train.y[batch]
        found["batch_ms"] = round((time.perf_counter() - start) / len(batches) * 1e3, 3)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), args.child[1])))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make(folder, args.chats)
        for path in ("memory", "miss", "hit", "stream"):
            mode = "held" if path in ("miss", "hit") else path
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.chat_cache", "--child", tmp, mode],
                capture_output=True,
                text=True,
                check=True,
            )
            found = json.loads(done.stdout.splitlines()[-1])
            print(json.dumps({**found, "path": path}))


if __name__ == "__main__":
    main()
