"""Train the class-conditional denoising score model of the embedded data (Vincent 2011's
denoising score matching at one noise level, labels dropped 20 % of the time for the
unconditional score) and write ``zoo/weights/score/score_dsm.safetensors`` with its card.

    python -m art_reps.train.score                 # about 8 minutes on 2 CPU threads
    python -m art_reps.train.score --out /tmp/score --epochs 1
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..data.digits_on_textures import digits_on_textures
from ..zoo.score import NAME, SCORE_DIR, ScoreNet

SPEC = dict(epochs=20, batch_size=128, lr=2e-3, sigma=0.5, width=16, drop_label=0.2, seed=0)


def denoising_loss(net: ScoreNet, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``|| sigma * s(x + sigma e, y) + e ||^2`` per image, averaged: zero when ``s`` is the score of
    the data smoothed at ``sigma``."""
    noise = torch.randn(x.shape, generator=generator)
    return (net.sigma * net(x + net.sigma * noise, y) + noise).pow(2).flatten(1).sum(1).mean()


def train_score_model(*, epochs: int, batch_size: int, lr: float, sigma: float, width: int, drop_label: float,
                      seed: int, progress: bool = True) -> tuple[ScoreNet, dict]:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    train, val = digits_on_textures("train"), digits_on_textures("val")
    net = ScoreNet(width=width, sigma=sigma)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (len(train.images) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(train.images), generator=g)
        for i in range(len(train.images) // batch_size):
            idx = order[i * batch_size:(i + 1) * batch_size]
            y = train.labels[idx].clone()
            y[torch.rand(len(y), generator=g) < drop_label] = net.NULL
            loss = denoising_loss(net, train.images[idx], y, g)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.1f}", flush=True)
    net.eval()
    with torch.no_grad():
        gv = torch.Generator().manual_seed(1)
        val_loss = {k: round(denoising_loss(net, val.images, labels, gv).item(), 2)
                    for k, labels in (("conditional", val.labels), ("unconditional", None))}
        trivial = round(float(3 * 32 * 32), 1)  # s = 0: the loss is E||e||^2
    card = {"name": NAME, "architecture": "ScoreNet", "architecture_options": {"width": width, "sigma": sigma},
            "training": {"epochs": epochs, "batch_size": batch_size, "optimizer": f"AdamW, one-cycle lr {lr}",
                         "drop_label": drop_label, "seed": seed, "seconds": round(time.perf_counter() - start, 1),
                         "torch": torch.__version__},
            "data": "digits_on_textures('train'), 8000 images",
            "validation_denoising_loss": val_loss, "loss_of_a_zero_score": trivial,
            "command": "python -m art_reps.train.score"}
    return net, card


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=SCORE_DIR)
    parser.add_argument("--epochs", type=int, default=SPEC["epochs"])
    args = parser.parse_args(argv)
    net, card = train_score_model(**{**SPEC, "epochs": args.epochs})
    args.out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, args.out / f"{NAME}.safetensors")
    (args.out / f"{NAME}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
