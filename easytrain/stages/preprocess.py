"""Load the data source, split it, fit encoders and statistics on the training split only."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from easytrain.config.preprocess import PreprocessConfig
from easytrain.data.augment import build_augment
from easytrain.data.bundle import DataBundle, Split
from easytrain.data.inputs import image_info, model_inputs
from easytrain.data.preprocessing import Preprocessing
from easytrain.data.raw import RawData
from easytrain.data.split import NAMES, check_labels_seen, split_indices
from easytrain.data.stream import ImageStream, should_stream, worker_count
from easytrain.errors import RunFailed
from easytrain.pipeline.context import RunContext


class PreprocessStage:
    def __init__(self, config: PreprocessConfig):
        self.config = config

    def run(self, ctx: RunContext) -> None:
        recipe = ctx.recipe
        raw = _load(ctx)
        for note in raw.notes:
            ctx.reporter.info(note)
        if len(raw.y) == 0:
            raise RunFailed(f"{raw.description}: the data source has no examples")
        parts = split_indices(raw, recipe.data.split, recipe.seed)
        check_labels_seen(raw, parts)
        encoding, feature_names = raw.encoding, raw.feature_names
        in_order = raw.encode is not None
        if raw.encode is not None:  # categories, vocabularies: from the training rows only
            order = np.concatenate([parts[name] for name in NAMES])
            encoded = raw.encode(parts["train"], order)
            raw.x, encoding = encoded.x, {**encoding, **encoded.encoding}
            feature_names = encoded.feature_names or feature_names
            raw.encode = None  # lets the source's rows (a whole DataFrame) go
        assert raw.x is not None
        table = encoding.get("table", {})
        codes = (
            len(table.get("categorical", {})) if table.get("categorical_encoding") == "index" else 0
        )
        config = self.config
        if "hf_image" in encoding:  # a pretrained image model: its processor's mean and std
            from easytrain.data.hf_images import preprocess_config

            config = preprocess_config(config, encoding)
        streams = _served(raw) or _streams(raw, parts, config, recipe.data, ctx)
        inputs, info = streams or model_inputs(raw.x, parts, config, codes, in_order)
        preprocessing: dict = {"input_shape": list(raw.input_shape), "encoding": encoding, **info}
        if raw.task == "regression":
            y_train = raw.y[parts["train"]]
            preprocessing["target"] = {
                "mean": float(y_train.mean()),
                "std": float(y_train.std() or 1.0),
            }

        def take(name: str) -> Split | None:
            if raw.served is not None:
                return raw.served[name] if len(raw.served[name]) else None
            y = torch.from_numpy(np.ascontiguousarray(raw.y[parts[name]]))
            return Split(inputs[name], y) if len(y) else None

        ctx.data = DataBundle(
            train=take("train"),  # type: ignore[arg-type]
            val=take("val"),
            test=take("test"),
            task=raw.task,
            input_shape=raw.input_shape,
            classes=raw.classes,
            feature_names=feature_names,
            description=raw.description,
            preprocessing=Preprocessing.model_validate(preprocessing),
            train_transform=build_augment(self.config.augment, raw.input_shape, info),
        )
        _resample(ctx, ctx.data)
        sizes = ", ".join(f"{name} {len(parts[name])}" for name in NAMES)
        ctx.reporter.info(f"data: {raw.description}, {raw.task}, input {raw.input_shape}, {sizes}")


def _resample(ctx: RunContext, data: DataBundle) -> None:
    """data.resample (tables): the training split only, never val or test."""
    method = ctx.recipe.data.resampling()
    if not method:
        return
    from easytrain.data.resample import resample_split

    data.train, data.resampled = resample_split(
        data.train, method, ctx.recipe.seed, data.task, data.classes
    )
    ctx.reporter.info(
        f"data: resampled the training split ({method}): "
        f"{data.resampled['before']} → {data.resampled['after']}"
    )


def _load(ctx: RunContext) -> RawData:
    """The data source's examples; texts for a pretrained model through that model's tokenizer,
    whose files the run folder keeps (tokenizer/), as it keeps a vocabulary."""
    recipe = ctx.recipe
    if getattr(recipe.model, "type", None) == "hf":
        from easytrain.data import hf_text

        folder = ctx.run_dir / hf_text.TOKENIZER_DIR if ctx.world.main else None
        if recipe.data.source == "image_folder":  # an image classifier, its image processor
            from easytrain.data import hf_images

            saved = ctx.run_dir / hf_images.PROCESSOR_DIR if ctx.world.main else None
            return hf_images.load(recipe.data, recipe.model, saved)  # type: ignore[arg-type]
        if recipe.data.source == "chat":  # a causal language model
            from easytrain.data import chat

            return chat.load(recipe.data, recipe.model, folder, recipe.seed)  # type: ignore[arg-type]
        return hf_text.load(recipe.data, recipe.model, folder)  # type: ignore[arg-type]
    return ctx.registry.get("data", recipe.data.source).load()(recipe.data)


def _served(raw: RawData) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The splits' inputs where the source reads them a batch at a time from its own files
    (chat data from the Arrow cache: data/chat_rows.py), else None."""
    if raw.served is None:
        return None
    return {name: raw.served[name].x for name in NAMES}, {"dtype": "int64"}


def _streams(
    raw: RawData, parts: dict[str, np.ndarray], config: PreprocessConfig, data: Any, ctx: RunContext
) -> tuple[dict[str, ImageStream], dict[str, Any]] | None:
    """Each split as an ImageStream when data.stream says so (8-bit images only), else None."""
    setting = data.stream_setting()
    if raw.x is None or raw.x.dtype != np.uint8 or setting is False:
        return None
    stream, why = should_stream(setting, raw.x)
    if not stream:
        return None
    workers = worker_count(data.workers)
    ctx.reporter.info(
        f"data: streaming {len(raw.x):,} images a batch at a time ({why}), {workers} worker(s)"
    )
    info = image_info(raw.x, parts["train"], config)
    images = torch.from_numpy(raw.x)
    return {
        name: ImageStream(images, torch.from_numpy(parts[name]), info, workers) for name in NAMES
    }, info
