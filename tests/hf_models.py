"""Tiny Hugging Face models that tests build offline: a random-weight BERT and its own tokenizer.

`tiny_bert(folder, texts)` writes a folder laid out like a downloaded model (config.json,
model.safetensors, tokenizer.json, tokenizer_config.json), so `model: {type: hf, name: folder}`
loads it exactly as it would load all-MiniLM-L6-v2. The tokenizer is a WordPiece trained on the
test's own texts with the `tokenizers` library.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ["good", "great", "fine", "lovely", "superb", "happy", "bright", "warm"]
NEGATIVE = ["bad", "awful", "poor", "dull", "grim", "sad", "dark", "cold"]
FILLER = ["the", "film", "was", "a", "story", "and", "it", "very", "plot", "cast", "of", "day"]


def tokenizer_for(texts: list[str], vocab_size: int = 200):
    """A BERT-style fast tokenizer (lowercasing WordPiece, [CLS] … [SEP]) trained on texts."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS)
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )


def tiny_bert(
    folder: Path, texts: list[str], hidden: int = 32, layers: int = 2, seed: int = 0
) -> Path:
    """A random-weight BERT (hidden 32, 2 layers, 2 heads) with a tokenizer of texts, saved in
    folder with safetensors, as a downloaded model would be. Returns folder."""
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = tokenizer_for(texts)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=hidden * 2,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder, safe_serialization=True)  # a base model: no head
    tokenizer.save_pretrained(folder)
    return folder


def needs_remote_code(folder: Path) -> Path:
    """Make folder's config.json name an architecture only its own Python code defines."""
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "tiny-custom-bert"
    config["auto_map"] = {"AutoConfig": "modeling_custom.CustomConfig"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "modeling_custom.py").write_text("raise SystemExit('remote code ran')\n")
    return folder


def sentiment_rows(count: int = 240, seed: int = 0) -> list[tuple[str, str]]:
    """Short reviews whose label is told by one positive or negative word among fillers."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        label = "pos" if i % 2 == 0 else "neg"
        words = rng.sample(FILLER, rng.randint(2, 9))
        words.insert(
            rng.randrange(len(words) + 1), rng.choice(POSITIVE if label == "pos" else NEGATIVE)
        )
        rows.append((" ".join(words), label))
    return rows


def write_reviews(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["review", "verdict"])
        writer.writerows(rows)
    return path


def text_setup(folder: Path, count: int = 240) -> tuple[Path, Path]:
    """(reviews.csv, model folder) under folder: separable data and a tiny BERT that reads it."""
    rows = sentiment_rows(count)
    csv_path = write_reviews(folder / "reviews.csv", rows)
    model = tiny_bert(folder / "tiny-bert", [text for text, _ in rows])
    return csv_path, model


CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)
CHAT_SPECIALS = ["<pad>", "<unk>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


def chat_tokenizer_for(texts: list[str]):
    """A word-level fast tokenizer of texts with a chat template (<|user|> … <|end|>)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=CHAT_SPECIALS))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        pad_token="<pad>",
        eos_token="<|end|>",
        model_max_length=256,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def tiny_llama(folder: Path, texts: list[str], hidden: int = 32, layers: int = 2, seed: int = 0):
    """A random-weight Llama (hidden 32, 2 layers) with a word-level chat tokenizer of texts,
    saved in folder as a downloaded model would be. Returns folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = chat_tokenizer_for(texts)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


COLOURS = ["red", "blue", "green", "amber", "violet", "silver", "orange", "teal"]
THINGS = ["apple", "river", "lamp", "stone", "cloud", "tiger", "chair", "moon"]


def chat_rows(count: int = 8) -> list[dict]:
    """Prompt → answer chats to memorise: 'What colour is the apple ?' → 'The apple is red .'"""
    rows = []
    for i in range(count):
        thing, colour = THINGS[i % len(THINGS)], COLOURS[(i * 3) % len(COLOURS)]
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": f"What colour is the {thing} ?"},
                    {"role": "assistant", "content": f"The {thing} is {colour} ."},
                ]
            }
        )
    return rows


def chat_setup(folder: Path, count: int = 8) -> tuple[Path, Path]:
    """(chats.jsonl, model folder) under folder: chats and a tiny Llama whose tokenizer reads them."""
    rows = chat_rows(count)
    path = folder / "chats.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    texts = [m["content"] for row in rows for m in row["messages"]]
    return path, tiny_llama(folder / "tiny-llama", texts)
