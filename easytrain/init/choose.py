"""The decisions `easytrain init` makes from a data profile, each with the reason it was made.

Sizes follow the data: the batch grows with the rows, the epochs aim at a few thousand optimizer
steps (early stopping ends sooner when validation stops improving), the network widens with the
rows and the image size. The rules are here (tables, training, metrics) and in media.py (images,
texts), each with its numbers.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from easytrain.init.inspect import Column, Profile
from easytrain.init.write import Key

CLASS_WEIGHTS_FROM = 3.0  # largest ÷ smallest class: weigh the loss from here …
BALANCED_FROM = 10.0  # … and draw classes equally from here
MANY_CATEGORIES = 30  # more categories than this in a column: embeddings instead of one-hot
TRAIN_SHARE = 0.7  # val 0.15 + test 0.15 held out


def batch_size(rows: int) -> int:
    for limit, size in ((500, 16), (2_000, 32), (20_000, 64), (200_000, 256)):
        if rows <= limit:
            return size
    return 1024


def epochs(rows: int, batch: int, steps: int, most: int) -> int:
    """Enough epochs for about `steps` optimizer steps, between 5 and `most`."""
    per_epoch = math.ceil(rows / batch)
    return max(5, min(most, math.ceil(steps / per_epoch)))


def run_name(path: Path) -> str:
    return (
        re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem if path.is_file() else path.name).strip("-.")
        or "run"
    )


def choose(profile: Profile, pretrained: Path | None = None) -> dict[str, Any]:
    """The recipe tree (sections of Keys) for this data."""
    from easytrain.init.media import images, pretrained_text, text

    tree: dict[str, Any] = {
        "name": Key(run_name(profile.path), "names the run folder: runs/<name>/<timestamp>/"),
        "seed": Key(0, "the same seed gives the same split and the same run on CPU"),
        "device": Key("auto", "CUDA when there is one, else the CPU"),
    }
    if profile.kind == "chat":
        from easytrain.init.chat import choose_chat

        return tree | choose_chat(
            profile.path, profile.rows, profile.chat_columns, profile.tokens_p95, pretrained
        )
    if profile.kind == "image_folder":
        tree |= images(profile)
    elif profile.kind == "text":
        tree |= text(profile) if pretrained is None else pretrained_text(profile, pretrained)
    else:
        tree |= _table(profile)
    tree["train"] = _train(profile, tree)
    tree["evaluate"] = _evaluate(profile)
    return tree


def split_key(profile: Profile) -> Key:
    stratify = profile.task == "classification"
    why = "15 % of the examples for validation (early stopping, best checkpoint), 15 % for the final test"
    return Key(
        {"val": 0.15, "test": 0.15, "stratify": stratify},
        why + ("; stratified: every split keeps the class proportions" if stratify else ""),
    )


def _table(profile: Profile) -> dict[str, Any]:
    kept = profile.features
    left = [c for c in profile.columns if c not in kept]
    data: dict[str, Any] = {
        "source": Key("table", f"{profile.rows} rows × {len(profile.columns) + 1} columns"),
        "path": Key(str(profile.path), "relative paths start where you run easytrain"),
        "target": Key(profile.target, f"the column to predict: {profile.target_why}"),
        "task": Key(profile.task, task_why(profile)),
        "features": Key(
            [c.name for c in kept],
            "the input columns, each with what it holds",
            items=[f"{c.kind}: {c.why}" for c in kept],
            notes=[_left_out(c) for c in left],
        ),
    }
    numbers = [c.name for c in kept if c.kind in ("numeric", "boolean")]
    if numbers:
        data["numeric_columns"] = Key(
            numbers,
            "must hold numbers: a stray word in one is an "
            "error that names its line, not a silent category",
        )
    many = [c for c in kept if c.kind == "categorical" and c.distinct > MANY_CATEGORIES]
    data["missing"] = Key(
        "median",
        "empty cells: the training rows' median (numbers); empty "
        "categories get a 'missing' category of their own",
    )
    data["categorical"] = Key(
        "index" if many else "onehot",
        f"{', '.join(c.name for c in many)} have over {MANY_CATEGORIES} categories: one learned "
        "embedding per column (model tabular) instead of a wide one-hot"
        if many
        else "one 0/1 column per category (few categories)",
    )
    sampler(profile, data)
    data["split"] = split_key(profile)
    return {
        "data": data,
        "preprocess": {
            "normalize": Key(
                True, "standardize every column with the training rows' mean and standard deviation"
            )
        },
        "model": _table_model(profile, bool(many)),
    }


def _left_out(column: Column) -> str:
    text = f"left out: {column.name} ({column.kind}: {column.why})"
    if column.kind == "text":
        text += "; a table model reads numbers and categories: for the text, init a file of it and the target alone"
    return text


def task_why(profile: Profile) -> str:
    if profile.task == "regression":
        return f"'{profile.target}' holds numbers with many distinct values: predict the number"
    counts = ", ".join(f"{k} {v}" for k, v in list(profile.class_counts.items())[:12])
    more = " …" if len(profile.class_counts) > 12 else ""
    return f"'{profile.target}' has {len(profile.class_counts)} classes ({counts}{more})"


def sampler(profile: Profile, data: dict[str, Any]) -> None:
    if profile.imbalance >= BALANCED_FROM:
        data["sampler"] = Key(
            "balanced",
            f"the largest class is {profile.imbalance:.0f}× the smallest: training batches draw "
            "every class equally often (with replacement), so the model sees the rare class",
            notes=["for tables, data.resample: smote (or oversample, undersample) is another way"]
            if profile.kind == "table"
            else [],
        )


def _width(rows: int) -> int:
    for limit, width in ((1_000, 64), (10_000, 128), (100_000, 256)):
        if rows <= limit:
            return width
    return 512


def _table_model(profile: Profile, embeddings: bool) -> dict[str, Any]:
    width = _width(profile.rows)
    why = f"two hidden layers of {width} for {profile.rows} rows (wider for more rows)"
    model = {
        "type": Key(
            "tabular" if embeddings else "mlp",
            "one embedding per categorical column, then an MLP"
            if embeddings
            else "a multi-layer perceptron: a strong default for tables",
        ),
        "hidden": Key([width, width], why),
        "dropout": Key(0.1, "a little dropout against overfitting"),
    }
    return model


def _train(profile: Profile, tree: dict[str, Any]) -> dict[str, Any]:
    train_rows = int(profile.rows * TRAIN_SHARE)
    batch = (
        batch_size(train_rows)
        if profile.kind != "image_folder"
        else min(batch_size(train_rows), 64)
    )
    steps, most = {"table": (3000, 200), "text": (2000, 50), "image_folder": (1500, 60)}[
        profile.kind
    ]
    pretrained = getattr(tree["model"].get("type"), "value", None) == "hf"
    if pretrained:  # a pretrained model needs few passes at a small learning rate
        batch, steps, most = min(batch, 32), 600, 5
    count = (
        epochs(train_rows, batch, steps, most)
        if not pretrained
        else min(most, epochs(train_rows, batch, steps, most))
    )
    patience = max(5, min(20, count // 5)) if not pretrained else 2
    train: dict[str, Any] = {
        "epochs": Key(
            count,
            f"about {steps} optimizer steps over {train_rows} training examples "
            f"(at most {most} epochs); early stopping usually ends sooner",
        ),
        "batch_size": Key(
            batch, f"for {train_rows} training examples (larger sets, larger batches)"
        ),
        "optimizer": Key(
            {"name": "adamw", "lr": 5e-05, "weight_decay": 0.01}
            if pretrained
            else {"name": "adamw", "lr": 0.001, "weight_decay": 0.0001},
            "AdamW at the small learning rate fine-tuning a pretrained model takes"
            if pretrained
            else "AdamW at its usual learning rate, with a little weight decay",
        ),
        "scheduler": Key({"name": "cosine"}, "the learning rate decays smoothly to zero"),
    }
    if 1 < profile.imbalance < BALANCED_FROM and profile.imbalance >= CLASS_WEIGHTS_FROM:
        train["class_weights"] = Key(
            "auto",
            f"the largest class is {profile.imbalance:.1f}× the smallest: each class "
            "weighs in the loss by the inverse of its frequency",
        )
    train["early_stopping"] = Key(
        {"monitor": "val_loss", "patience": patience},
        f"stop when the validation loss has not improved for {patience} epochs; the best epoch's "
        "weights are kept (checkpoints/best.pt)",
    )
    return train


def _evaluate(profile: Profile) -> dict[str, Any]:
    if profile.task == "regression":
        metrics, why = (
            ["r2", "mae", "rmse"],
            "R² (1 is perfect, 0 is the mean), errors in target units",
        )
    else:
        metrics, why = (
            ["accuracy", "f1_macro"],
            "accuracy, and macro F1 (every class counts equally)",
        )
        if profile.imbalance >= CLASS_WEIGHTS_FROM:
            metrics.append("balanced_accuracy")
            why += "; balanced accuracy: the classes are imbalanced"
        if len(profile.class_counts) == 2:
            metrics.append("roc_auc")
            why += "; ROC AUC for two classes"
    return {
        "metrics": Key(
            metrics,
            why,
            notes=[
                f"gates: {{{metrics[0]}: 0.9}} would make a run that scores below 0.9 on the test split "
                "exit with code 3 (for CI)"
            ],
        )
    }
