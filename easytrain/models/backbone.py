"""torchvision classification models: optional pretrained weights, input channels adapted to the
data, a new head sized from the data, and a backbone that can stay frozen for some epochs."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import torch
import torchvision
from torch import nn

from easytrain.config.backbones import TorchvisionConfig
from easytrain.errors import RecipeError
from easytrain.models import ModelSpec

Pair = tuple[int, int]


class Backbone(nn.Module):
    """A torchvision network whose body trains only from `unfreeze_after` (if frozen)."""

    def __init__(self, net: nn.Module, head: str, config: TorchvisionConfig):
        super().__init__()
        self.net = net
        self.head = head  # the qualified name of the new head, which always trains
        self.freeze, self.unfreeze_after = config.freeze, config.unfreeze_after
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Called by the training loop at the start of each epoch (0-based)."""
        frozen = self.freeze == "backbone" and (
            self.unfreeze_after is None or epoch < self.unfreeze_after
        )
        for name, parameter in self.net.named_parameters():
            parameter.requires_grad = not frozen or name.startswith(self.head + ".")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _set(root: nn.Module, qualified: str, module: nn.Module) -> None:
    parent_name, _, child = qualified.rpartition(".")
    setattr(root.get_submodule(parent_name) if parent_name else root, child, module)


def _state_dict(config: TorchvisionConfig) -> dict[str, torch.Tensor] | None:
    """Pretrained weights from a local file or torchvision's cache; never a silent download failure."""
    if config.weights is None:
        return None
    path = Path(config.weights)
    if path.suffix in (".pt", ".pth") or path.exists():
        if not path.is_file():
            raise RecipeError(f"model.weights: no such file: {path}")
        from easytrain.engine import checkpoint

        loaded = checkpoint.load(path)  # weights_only; a refusal as a RunFailed, no traceback
        return loaded.get("model", loaded) if isinstance(loaded, dict) else loaded
    choices = torchvision.models.get_model_weights(config.type)
    try:
        weights = choices.DEFAULT if config.weights == "DEFAULT" else choices[config.weights]
    except KeyError:
        names = ", ".join(["DEFAULT", *choices.__members__])
        raise RecipeError(
            f"model.weights: {config.type} has no weights '{config.weights}'; choose from: {names}"
        ) from None
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    try:
        return torch.hub.load_state_dict_from_url(
            weights.url, progress=False, map_location="cpu", weights_only=True
        )
    except Exception as exc:  # offline, proxy, disk …
        raise RecipeError(
            f"model.weights: cannot get {config.type} {weights} ({type(exc).__name__}: {exc}). "
            f"Offline? Download {weights.url} on a machine with internet and put the file at "
            f"{cached}, or give a local file: model.weights=path/to/weights.pth"
        ) from None


def build(config: TorchvisionConfig, spec: ModelSpec) -> nn.Module:
    if len(spec.input_shape) != 3:
        raise RecipeError(
            f"model.type {config.type} takes images (channels, height, width); "
            f"these inputs have shape {list(spec.input_shape)}"
        )
    net = torchvision.models.get_model(config.type, weights=None)
    state = _state_dict(config)
    if state is not None:
        net.load_state_dict(state)
    channels = spec.input_shape[0]
    name, stem = next((n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d))
    if stem.in_channels != channels:  # grayscale (or other) input: fold the RGB filters
        new = nn.Conv2d(
            channels,
            stem.out_channels,
            cast(Pair, stem.kernel_size),  # a 2-d convolution's are (height, width)
            cast(Pair, stem.stride),
            cast("Pair | str", stem.padding),
            cast(Pair, stem.dilation),
            stem.groups,
            stem.bias is not None,
        )
        with torch.no_grad():
            new.weight.copy_(
                stem.weight.mean(dim=1, keepdim=True).expand_as(new.weight) * 3 / channels
            )
            if stem.bias is not None and new.bias is not None:
                new.bias.copy_(stem.bias)
        _set(net, name, new)
    head, old = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Linear)][-1]
    new_head: nn.Module = nn.Linear(old.in_features, spec.num_outputs)
    if config.dropout:
        new_head = nn.Sequential(nn.Dropout(config.dropout), new_head)
    _set(net, head, new_head)
    model = Backbone(net, head, config)
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(2, *spec.input_shape))
        model.train()
    except (RuntimeError, ValueError, AssertionError) as exc:
        raise RecipeError(
            f"model.type {config.type} cannot take inputs of shape "
            f"{list(spec.input_shape)}: {str(exc).splitlines()[0]}"
        ) from None
    return model
