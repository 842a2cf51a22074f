"""`data.source: image_folder` read for a pretrained image model (model.type: hf).

The model's own image processor (preprocessor_config.json in its folder) says how its images were
prepared in pretraining: their size, rescaling and per-channel mean and std. Those settings
replace data.image_size and easytrain's normalization: images are decoded and resized to the
processor's size by the image_folder source (bilinear, antialiased, and cached as usual), then
rescaled and normalized with the processor's mean and std. The processor's files are saved in
the run folder (image_processor/) and go into the exported Hugging Face folder; predict and
serve prepare new images from the run's saved settings, as for any image model.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from easytrain.config.data import ImageFolderData
from easytrain.config.hf import HFConfig
from easytrain.config.preprocess import PreprocessConfig
from easytrain.data.raw import RawData
from easytrain.errors import RecipeError, RunFailed

PROCESSOR_DIR = "image_processor"  # in the run folder


def load_processor(config: HFConfig | None = None, folder: Path | None = None) -> Any:
    """The model's image processor: from its folder (or a run's saved copy, folder)."""
    from easytrain.models.hf_files import model_folder, quiet, require

    require()
    from transformers import AutoImageProcessor

    if folder is None:
        assert config is not None
        folder = model_folder(config)
    if not (folder / "preprocessor_config.json").is_file():
        raise RecipeError(
            f"model.name: {folder} has no preprocessor_config.json, so no image processor: an "
            "image model's folder holds config.json, model.safetensors and preprocessor_config.json"
        )
    try:
        with quiet():
            return AutoImageProcessor.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise RecipeError(
            f"model.name: cannot load the image processor of {folder} "
            f"({str(exc).splitlines()[0][:200]})"
        ) from None


def processor_settings(processor: Any) -> dict[str, Any]:
    """What the processor does to an image: size [height, width], rescaling, mean and std."""
    saved = processor.to_dict()
    size = saved.get("crop_size") if saved.get("do_center_crop") else saved.get("size")
    size = size or {}
    if "height" in size and "width" in size:
        height, width = int(size["height"]), int(size["width"])
    elif "shortest_edge" in size:  # a square of that side: center cropping is not replayed
        height = width = int(size["shortest_edge"])
    else:
        raise RunFailed(f"the model's image processor has a size easytrain cannot read: {size}")
    rescale = bool(saved.get("do_rescale", True))
    factor = float(saved.get("rescale_factor", 1 / 255))
    if rescale and not math.isclose(factor, 1 / 255, rel_tol=1e-4):
        raise RunFailed(f"the model's image processor rescales by {factor}; easytrain uses 1/255")
    normalize = bool(saved.get("do_normalize", True))
    return {
        "processor": PROCESSOR_DIR,  # a folder of the run: preprocessor_config.json
        "processor_class": type(processor).__name__,
        "size": [height, width],
        "rescale": rescale,
        "normalize": normalize,
        "mean": [float(v) for v in saved.get("image_mean") or []] if normalize else None,
        "std": [float(v) for v in saved.get("image_std") or []] if normalize else None,
    }


def preprocess_config(config: PreprocessConfig, encoding: dict[str, Any]) -> PreprocessConfig:
    """The preprocess settings the processor implies (the recipe's own are refused, see
    config.hf.hf_problems); other settings (augment) stay the recipe's."""
    hf = encoding.get("hf_image")
    if hf is None:
        return config
    return config.model_copy(
        update={
            "rescale": hf["rescale"],
            "normalize": hf["normalize"],
            "mean": hf["mean"],
            "std": hf["std"],
        }
    )


def load(data: ImageFolderData, model: HFConfig, save_to: Path | None = None) -> RawData:
    """The image folder decoded at the processor's size; the processor's files go to save_to."""
    from easytrain.data import image_folder
    from easytrain.models.hf_files import load_config

    if not isinstance(data, ImageFolderData):
        raise RecipeError(f"an hf image model reads data.source: image_folder, not {data.source}")
    processor = load_processor(model)
    settings = processor_settings(processor)
    channels = int(getattr(load_config(model), "num_channels", 3) or 3)
    if channels != 3:
        raise RunFailed(
            f"model.name: the model takes {channels}-channel images; easytrain reads RGB"
        )
    raw = image_folder.load(data.model_copy(update={"image_size": tuple(settings["size"])}))
    if save_to is not None:
        processor.save_pretrained(save_to)
    raw.encoding["hf_image"] = {**settings, "model_config": load_config(model).to_dict()}
    raw.notes.append(
        f"images resized to {settings['size'][0]}×{settings['size'][1]} and normalized as "
        f"{type(processor).__name__} of {model.name} does"
    )
    return raw
