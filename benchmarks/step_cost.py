"""Per-step cost of representation inversion: ours against the bare loop, a MadryLab-structured
loop and ART's FeatureAdversariesPyTorch, at equal steps and layer, as ratios measured in one
process (the machine is shared, so absolute times drift; the methods are interleaved and the
fastest of the repeats is kept). A step's cost is the marginal one: time(steps) minus
time(steps / 4), over the difference, so one-off set-up counts for nobody.

    python benchmarks/step_cost.py                    # embedded model, ResNet-18 and -50 at 32x32
    python benchmarks/step_cost.py --size 224 --models resnet18
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torchvision

import art_reps
from art_reps.core import frozen


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
    with frozen(trunk):  # the floor: no graph for the weights
        for _ in range(steps):
            x.requires_grad_(True)
            loss = ((trunk(x) - target).norm(dim=1) / norm).sum()
            (g,) = torch.autograd.grad(loss, x)
            with torch.no_grad():
                g = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
                x = (x - step_size * g).clamp(0, 1)
                if extra_forward:
                    trunk(x)
    return x


def ours(model, layer, x0, targets, steps, step_size):
    return art_reps.invert(model, targets, layer=layer, start=x0, steps=steps, step_size=step_size,
                           schedule="constant", fake_relu=False, progress=False).images


def art_feature_adversaries(model, layer, x0, targets, steps, step_size):
    from art.attacks.evasion import FeatureAdversariesPyTorch
    from art.estimators.classification import PyTorchClassifier

    clf = PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), tuple(x0.shape[1:]), 10, clip_values=(0, 1),
                            device_type="cpu")
    attack = FeatureAdversariesPyTorch(clf, delta=1.0, layer=layer, max_iter=steps, step_size=step_size,
                                       verbose=False)
    return attack.generate(x0.numpy(), targets.numpy())


MODELS = {
    "embedded": lambda: (art_reps.load_model("l2_eps1"), "avgpool"),
    "resnet18": lambda: (torchvision.models.resnet18(num_classes=10).eval(), "avgpool"),
    "resnet50": lambda: (torchvision.models.resnet50(num_classes=10).eval(), "avgpool"),
}


def measure(name: str, size: int, batch: int, steps: int, repeats: int, autocast: bool = False) -> dict:
    """Per-step cost of each method: the time of ``steps`` steps minus that of ``steps // 4``,
    over the difference, so set-up (target features, ART's estimator) and the final scoring
    forward do not count; the fastest of ``repeats`` interleaved runs (noise only adds time)."""
    model, layer = MODELS[name]()
    g = torch.Generator().manual_seed(0)
    targets = torch.rand(batch, 3, size, size, generator=g)
    x0 = torch.rand(batch, 3, size, size, generator=g)
    trunk = _trunk(model, layer)
    with torch.no_grad():
        target = trunk(targets)
    x0_cl = x0.contiguous(memory_format=torch.channels_last)
    runs = {
        "bare": lambda n: bare_loop(trunk, x0, target, n, 0.05),
        "bare_channels_last": lambda n: bare_loop(trunk, x0_cl, target, n, 0.05),
        "madrylab_structure": lambda n: bare_loop(trunk, x0, target, n, 0.05, extra_forward=True),
        "ours": lambda n: ours(model, layer, x0, targets, n, 0.05),
        "art_feature_adversaries": lambda n: art_feature_adversaries(model, layer, x0, targets, n, 0.01),
    }
    if autocast:
        runs["ours_autocast"] = lambda n: art_reps.invert(model, targets, layer=layer, start=x0, steps=n,
                                                          step_size=0.05, schedule="constant", fake_relu=False,
                                                          autocast=True, progress=False)
    counts = (max(steps // 4, 1), steps)
    times = {(k, n): [] for k in runs for n in counts}
    runs["ours"](2)  # warm-up: thread pools, oneDNN kernels
    for _ in range(repeats):
        for key, run in runs.items():
            for n in counts:
                start = time.perf_counter()
                run(n)
                times[key, n].append(time.perf_counter() - start)
    med = {k: min(v) for k, v in times.items()}
    per_step = {k: (med[k, counts[1]] - med[k, counts[0]]) / (counts[1] - counts[0]) for k in runs}
    result = {"model": name, "size": size, "batch": batch, "steps": counts, "per_step_s": per_step,
              "ours_vs_bare": per_step["ours"] / per_step["bare"],
              "channels_last_vs_bare": per_step["bare_channels_last"] / per_step["bare"],
              "ours_vs_art": per_step["ours"] / per_step["art_feature_adversaries"],
              "madrylab_vs_bare": per_step["madrylab_structure"] / per_step["bare"]}
    if autocast:
        result["autocast_vs_ours"] = per_step["ours_autocast"] / per_step["ours"]
    return result


HEADER = ("| model | input | ours / bare | ours / ART FeatureAdversaries | MadryLab structure / bare | "
          "bare in channels_last / bare | bare s/step |\n|---|---|---|---|---|---|---|")


def row(r: dict) -> str:
    return (f"| {r['model']} | {r['batch']}x3x{r['size']}x{r['size']} | {r['ours_vs_bare']:.2f} | "
            f"{r['ours_vs_art']:.2f} | {r['madrylab_vs_bare']:.2f} | {r['channels_last_vs_bare']:.2f} | "
            f"{r['per_step_s']['bare']:.4f} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--autocast", action="store_true", help="also time ours under autocast")
    args = parser.parse_args(argv)
    np.random.seed(0)
    print(HEADER)
    for name in args.models:
        r = measure(name, args.size, args.batch, args.steps, args.repeats, args.autocast)
        print(row(r) + (f" autocast / ours: {r['autocast_vs_ours']:.2f}" if args.autocast else ""), flush=True)


if __name__ == "__main__":
    main()
