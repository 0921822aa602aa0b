"""Per-step cost of representation inversion: ours against the bare loop, a MadryLab-structured
loop and ART's FeatureAdversariesPyTorch, at equal steps and layer, as ratios measured in one
process (the machine is shared, so absolute times drift; the methods are interleaved and the
median of the repeats is kept).

    python benchmarks/step_cost.py                    # embedded model, ResNet-18 and -50 at 32x32
    python benchmarks/step_cost.py --size 224 --models resnet18
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torchvision

import art_reps
from art_reps.core import Representation


def _trunk(model: torch.nn.Module, layer: str) -> torch.nn.Module:
    """The model's children up to and including ``layer`` (a top-level name), flattened at the end."""
    children = []
    for name, child in model.named_children():
        children.append(child)
        if name == layer:
            break
    return torch.nn.Sequential(*children, torch.nn.Flatten())


def bare_loop(trunk, x0, target, steps, step_size, extra_forward=False):
    """One forward to the layer, one backward and the step; ``extra_forward`` adds the MadryLab
    structure's second forward per step (the loss of the new iterate, for ``use_best``)."""
    x = x0.clone()
    norm = target.norm(dim=1)
    params = [p for p in trunk.parameters() if p.requires_grad]
    for p in params:  # the floor: no graph for the weights
        p.requires_grad_(False)
    for _ in range(steps):
        x.requires_grad_(True)
        loss = ((trunk(x) - target).norm(dim=1) / norm).sum()
        (g,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            g = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
            x = (x - step_size * g).clamp(0, 1)
            if extra_forward:
                trunk(x)
    for p in params:
        p.requires_grad_(True)
    return x


def ours(model, layer, x0, targets, steps, step_size):
    return art_reps.invert(model, targets, layer=layer, start=x0, steps=steps, step_size=step_size,
                           schedule=art_reps.core.constant()).images


def art_feature_adversaries(model, layer, x0, targets, steps, step_size):
    from art.attacks.evasion import FeatureAdversariesPyTorch
    from art.estimators.classification import PyTorchClassifier

    clf = PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), tuple(x0.shape[1:]), 10, clip_values=(0, 1),
                            device_type="cpu")
    attack = FeatureAdversariesPyTorch(clf, delta=1.0, layer=layer, max_iter=steps, step_size=step_size,
                                       verbose=False)
    return attack.generate(x0.numpy(), targets.numpy())


MODELS = {
    "embedded": lambda: (art_reps.load_model("l2_eps0.25"), "avgpool"),
    "resnet18": lambda: (torchvision.models.resnet18(num_classes=10).eval(), "avgpool"),
    "resnet50": lambda: (torchvision.models.resnet50(num_classes=10).eval(), "avgpool"),
}


def measure(name: str, size: int, batch: int, steps: int, repeats: int) -> dict:
    model, layer = MODELS[name]()
    g = torch.Generator().manual_seed(0)
    targets = torch.rand(batch, 3, size, size, generator=g)
    x0 = torch.rand(batch, 3, size, size, generator=g)
    trunk = _trunk(model, layer)
    with torch.no_grad():
        target = trunk(targets)
    runs = {
        "bare": lambda: bare_loop(trunk, x0, target, steps, 0.05),
        "madrylab_structure": lambda: bare_loop(trunk, x0, target, steps, 0.05, extra_forward=True),
        "ours": lambda: ours(model, layer, x0, targets, steps, 0.05),
        "art_feature_adversaries": lambda: art_feature_adversaries(model, layer, x0, targets, steps, 0.01),
    }
    times = {k: [] for k in runs}
    for _ in range(repeats):
        for key, run in runs.items():
            start = time.perf_counter()
            run()
            times[key].append((time.perf_counter() - start) / steps)
    per_step = {k: statistics.median(v) for k, v in times.items()}
    return {"model": name, "size": size, "batch": batch, "steps": steps, "per_step_s": per_step,
            "ours_vs_bare": per_step["ours"] / per_step["bare"],
            "ours_vs_art": per_step["ours"] / per_step["art_feature_adversaries"],
            "madrylab_vs_bare": per_step["madrylab_structure"] / per_step["bare"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    np.random.seed(0)
    print("| model | input | ours / bare | ours / ART FeatureAdversaries | MadryLab structure / bare | bare s/step |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        r = measure(name, args.size, args.batch, args.steps, args.repeats)
        print(f"| {name} | {args.batch}x3x{args.size}x{args.size} | {r['ours_vs_bare']:.2f} | {r['ours_vs_art']:.2f} | "
              f"{r['madrylab_vs_bare']:.2f} | {r['per_step_s']['bare']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
