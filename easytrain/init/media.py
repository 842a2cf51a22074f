"""Decisions for image folders and text tables (see choose.py for the rules they share)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from easytrain.init.choose import sampler, split_key, task_why
from easytrain.init.inspect import Profile
from easytrain.init.write import Key


def images(profile: Profile) -> dict[str, Any]:
    height, width = profile.image_size
    side = max(height, width)
    target = side if side <= 32 else 64 if side <= 96 else 128
    size = [height, width] if side <= 32 else [target, target]
    same = "every sampled image has this size" if profile.sizes_agree else "images differ in size"
    data = {
        "source": Key(
            "image_folder", f"{profile.rows} images in {len(profile.class_counts)} class folders"
        ),
        "path": Key(str(profile.path), _task_why_images(profile)),
        "channels": Key(
            profile.channels,
            "every sampled image is grayscale"
            if profile.channels == 1
            else "colour images (grayscale ones are converted)",
        ),
        "image_size": Key(
            size,
            f"median size {height}×{width} ({same})"
            + ("" if side <= 32 else f"; resized to {target}×{target} to train fast"),
        ),
    }
    sampler(profile, data)
    data["split"] = split_key(profile)
    preprocess = {
        "rescale": Key(True, "pixels ÷ 255"),
        "normalize": Key(
            True, "then standardized per channel with the training images' statistics"
        ),
        "augment": Key([], "none: add [hflip] for photos where left and right do not matter"),
    }
    return {"data": data, "preprocess": preprocess, "model": _cnn(size, profile.rows)}


def _task_why_images(profile: Profile) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in list(profile.class_counts.items())[:12])
    return f"one sub-folder per class: {counts}"


def _cnn(size: list[int], rows: int) -> dict[str, Any]:
    side, blocks = max(size), 1
    while side / 2**blocks > 4 and blocks < 5:
        blocks += 1
    widths = [min(32 * 2**i, 256) for i in range(blocks)]
    layers: list[Any] = []
    for channels in widths:
        layers += [
            {"conv": {"channels": channels, "kernel": 3, "padding": "same"}},
            "batchnorm",
            {"pool": 2},
        ]
    layers += ["flatten", {"dense": {"units": 128}}, {"dropout": 0.3}]
    return {
        "type": Key(
            "cnn",
            f"a convolutional network: {blocks} conv + pool block(s) take "
            f"{max(size)} pixels down to about 4, then a dense layer; the output layer is "
            "sized from the classes",
        ),
        "layers": Key(layers, "", items=[""] * len(layers)),
    }


def text(profile: Profile) -> dict[str, Any]:
    length = max(8, min(256, 8 * math.ceil(profile.tokens_p95 / 8)))
    vocab = min(20_000, profile.distinct_tokens + 2)
    data = {
        "source": Key(
            "text", f"{profile.rows} rows; '{profile.text_column}' is free text and the only input"
        ),
        "path": Key(str(profile.path), "relative paths start where you run easytrain"),
        "text": Key(profile.text_column, "the column that holds the text"),
        "target": Key(profile.target, f"the column to predict: {profile.target_why}"),
        "task": Key(profile.task, task_why(profile)),
        "level": Key("word", "tokens are words and punctuation marks"),
        "lowercase": Key(True, "'Good' and 'good' are one token"),
        "vocab_size": Key(
            vocab,
            f"{profile.distinct_tokens} distinct tokens in the file "
            "(at most 20,000, counted on the training split)",
        ),
        "min_freq": Key(
            2 if profile.rows >= 1_000 else 1,
            "tokens seen once become 'unknown'"
            if profile.rows >= 1_000
            else "few rows: every token seen is kept",
        ),
        "max_length": Key(
            length,
            f"95 % of the texts have at most {profile.tokens_p95} tokens; longer ones are cut",
        ),
    }
    sampler(profile, data)
    data["split"] = split_key(profile)
    model = {
        "type": Key(
            "embedding_bag",
            "the mean of the word embeddings, then an MLP: fast and "
            "strong for topic, sentiment, spam; lstm, gru and transformer read word order",
        ),
        "embed_dim": Key(64, "size of each word's vector"),
        "hidden": Key([64], "one hidden layer after the averaged embedding"),
        "dropout": Key(0.1, "a little dropout against overfitting"),
    }
    return {"data": data, "model": model}


def pretrained_text(profile: Profile, folder: Path) -> dict[str, Any]:
    """A pretrained Hugging Face model reads the text with its own tokenizer."""
    data = text(profile)["data"]
    for key in ("level", "lowercase", "vocab_size", "min_freq", "max_length"):
        del data[key]  # the model's tokenizer decides these
    length = max(16, min(512, 8 * math.ceil(1.5 * profile.tokens_p95 / 8)))
    model = {
        "type": Key("hf", f"--pretrained {folder}: fine-tune that model, its tokenizer included"),
        "name": Key(str(folder), "the model's folder (config.json, model.safetensors, tokenizer)"),
        "max_length": Key(
            length,
            f"95 % of the texts have at most {profile.tokens_p95} words; "
            "sub-word tokens are about 1.5 per word",
        ),
        "trainable": Key(
            "all",
            "fine-tune every weight; head trains only the new classifier "
            "(fastest), lora small adapters",
        ),
    }
    return {"data": data, "model": model}
