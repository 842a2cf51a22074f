"""Sample generations of a language-model run: samples.jsonl in the run folder, a report section.

The prompts are fixed when the data is read (the first validation chats, data.prompts_to_sample),
so runs of one recipe answer the same prompts and their samples compare side by side.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from easytrain.pipeline.runfiles import read_text

FILE = "samples.jsonl"


def write_samples(ctx: Any) -> dict[str, str]:
    """Greedy answers to the run's sample prompts → samples.jsonl; the artifact it adds."""
    from easytrain.deploy.generate import samples
    from easytrain.engine.checkpoint import write_atomic
    from easytrain.models.hf_files import load_tokenizer

    chat = ctx.data.preprocessing.encoded("chat")
    if not chat.get("sample_prompts"):
        return {}
    tokenizer = load_tokenizer(folder=ctx.run_dir / chat["tokenizer"])
    found = samples(ctx.model, tokenizer, chat)
    ctx.model.train(False)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in found)
    write_atomic(ctx.run_dir / FILE, lambda file: file.write(text.encode("utf-8")))
    ctx.reporter.info(f"samples: {len(found)} generated answers → {FILE}")
    return {"samples": FILE}


def report_section(run_dir: Path) -> str:
    """The samples as an HTML table; empty for runs without them."""
    text = read_text(run_dir, FILE)
    if not text:
        return ""
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            prompt, answer = escape(str(row.get("prompt", ""))), escape(str(row.get("generated")))
            rows.append(f"<tr><td><pre>{prompt}</pre></td><td><pre>{answer}</pre></td></tr>")
    head = "<tr><th>prompt (validation)</th><th>generated (greedy)</th></tr>"
    return f"<h2>Sample generations</h2><table>{head}{''.join(rows)}</table>"
