"""Images/s of resnet18 training at 224×224 on a CUDA GPU, with the engine's speed settings:
fp32, bf16 autocast, bf16 + channels_last, and + torch.compile.

    python -m benchmarks.cuda [--batch 128] [--steps 50]

Uses the same pieces as `easytrain run` (easytrain.engine.precision.Precision, channels_last,
torch.compile) on torchvision's resnet18 with random inputs, so that only the GPU is measured.
"""

from __future__ import annotations

import argparse
import time

import torch
import torchvision
from torch import nn

from easytrain.engine.precision import Precision


def images_per_second(batch: int, steps: int, precision: str, channels_last: bool, compile_: bool) -> float:
    device = torch.device("cuda")
    model = torchvision.models.resnet18(num_classes=1000).to(device)
    x = torch.randn(batch, 3, 224, 224, device=device)
    y = torch.randint(0, 1000, (batch,), device=device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    forward = torch.compile(model) if compile_ else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    amp, loss_fn = Precision(precision, device), nn.CrossEntropyLoss()

    def step() -> None:
        with amp.autocast():
            loss = loss_fn(forward(x), y)
        amp.backward(loss)
        amp.step(optimizer, model.parameters(), None, None)
        optimizer.zero_grad(set_to_none=True)

    for _ in range(10 if not compile_ else 20):  # warm-up (and compilation)
        step()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here: nothing to measure")
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, batch {args.batch}\n")
    print("| settings | images/s | vs fp32 |")
    print("| --- | ---: | ---: |")
    base = None
    for label, precision, channels_last, compile_ in [
        ("fp32", "32", False, False),
        ("bf16 autocast", "bf16", False, False),
        ("bf16 + channels_last", "bf16", True, False),
        ("bf16 + channels_last + compile", "bf16", True, True),
    ]:
        rate = images_per_second(args.batch, args.steps, precision, channels_last, compile_)
        base = base or rate
        print(f"| {label} | {rate:,.0f} | {rate / base:.2f} |")


if __name__ == "__main__":
    main()
