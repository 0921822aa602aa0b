"""Train the PAG score's references and write them with their cards to ``zoo/weights/score/``:
the class-conditional denoising score model of the embedded data (Vincent 2011's denoising score
matching at one noise level, labels dropped 20 % of the time for the unconditional score,
``score_dsm``), and the noise-conditional classifier ``p_sigma(y | x)`` trained over sigma in
[0.05, 0.5] (``noisy_classifier``), whose card registers the noise level the guided reference uses.

    python -m reproduction.train_score                       # the score model, about 8 minutes on 2 CPU threads
    python -m reproduction.train_score --model classifier    # the noisy classifier
    python -m reproduction.train_score --out /tmp/score --epochs 1
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from art_reps.data.digits_on_textures import digits_on_textures
from art_reps.metrics.statistics import proportion
from art_reps.train.adversarial import one_cycle_sgd
from art_reps.zoo.score import CLASSIFIER, NAME, NoisyClassifier, ScoreNet
from art_reps.zoo.score import SCORE_DIR as LIBRARY_SCORE_DIR

from .models import SCORE_DIR

SPEC = dict(epochs=20, batch_size=128, lr=2e-3, sigma=0.5, width=16, drop_label=0.2, seed=0)
# 40 epochs: a 15-epoch classifier failed the reference's checks (docs/judging.md, Corrections)
CLASSIFIER_SPEC = dict(epochs=40, batch_size=128, lr=0.1, sigmas=(0.05, 0.5), width=32, seed=0)
# The guided reference's noise level, registered before training: the largest of these at which the
# classifier reads 0.5-0.9 of the validation images (noisy enough that the class is in doubt).
SIGMA_GRID = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
READS = (0.5, 0.9)


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
            "command": "python -m reproduction.train_score"}
    return net, card


def noisy_accuracy(net: NoisyClassifier, images: torch.Tensor, labels: torch.Tensor, sigma: float,
                   seed: int = 1) -> dict:
    """The proportion (with its Wilson interval) of ``images`` + ``sigma`` e that ``net`` reads as
    their ``labels``; the noise is seeded."""
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        hits = torch.cat([net(x, sigma).argmax(1) for x in (images + sigma * noise).split(500)]) == labels
    return proportion(hits)


def choose_sigma(val_accuracy: dict) -> dict:
    """The registered noise level: the largest of ``SIGMA_GRID`` whose validation accuracy is inside
    ``READS``; ``{"sigma": None, ...}`` when none is (the reference then cannot be used)."""
    inside = [s for s in SIGMA_GRID if READS[0] <= val_accuracy[str(s)]["score"] <= READS[1]]
    return {"sigma": max(inside) if inside else None, "rule": f"the largest of {list(SIGMA_GRID)} at which "
            f"the classifier reads {READS[0]}-{READS[1]} of the validation images"}


def train_noisy_classifier(*, epochs: int, batch_size: int, lr: float, sigmas: tuple, width: int, seed: int,
                           progress: bool = True) -> tuple[NoisyClassifier, dict]:
    """Cross-entropy on training images under Gaussian noise of a per-image sigma drawn uniformly
    from ``sigmas``, the level given to the network; the card's accuracies are at each level of
    ``SIGMA_GRID`` on the validation and test images, and the registered level (:func:`choose_sigma`)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    train, val, test = digits_on_textures("train"), digits_on_textures("val"), digits_on_textures("test")
    net = NoisyClassifier(width=width)
    step = one_cycle_sgd(net.parameters(), lr=lr, weight_decay=5e-4, epochs=epochs,
                         steps_per_epoch=-(-len(train.images) // batch_size))
    start = time.perf_counter()
    net.train()
    for epoch in range(epochs):
        order, total = torch.randperm(len(train.images), generator=g), 0.0
        for idx in order.split(batch_size):
            x, y = train.images[idx], train.labels[idx]
            sigma = sigmas[0] + (sigmas[1] - sigmas[0]) * torch.rand(len(x), generator=g)
            noisy = x + sigma.view(-1, 1, 1, 1) * torch.randn(x.shape, generator=g)
            total += step(torch.nn.functional.cross_entropy(net(noisy, sigma), y)) * len(y)
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: loss {total / len(train.images):.3f}", flush=True)
    net.eval()
    accuracy = {split: {str(s): noisy_accuracy(net, d.images, d.labels, s) for s in SIGMA_GRID}
                for split, d in (("val", val), ("test", test))}
    card = {"name": CLASSIFIER, "architecture": "NoisyClassifier", "architecture_options": {"width": width},
            "training": {"loss": "cross-entropy on x + sigma e, sigma ~ U" + str(list(sigmas)), "epochs": epochs,
                         "batch_size": batch_size, "optimizer": f"SGD nesterov 0.9, wd 5e-4, one-cycle lr {lr}",
                         "seed": seed, "seconds": round(time.perf_counter() - start, 1),
                         "torch": torch.__version__.split("+")[0]},
            "data": "digits_on_textures('train'), 8000 images",
            "noisy_accuracy": accuracy, "chosen_sigma": choose_sigma(accuracy["val"]),
            "command": "python -m reproduction.train_score --model classifier"}
    return net, card


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("score", "classifier"), default="score",
                        help="the denoising score model (default) or the noise-conditional classifier")
    parser.add_argument("--out", type=Path, default=None, help="(default: the library's folder for the score model, "
                        "reproduction/weights/score for the classifier)")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's number of epochs")
    args = parser.parse_args(argv)
    spec, train, name = ((SPEC, train_score_model, NAME) if args.model == "score"
                         else (CLASSIFIER_SPEC, train_noisy_classifier, CLASSIFIER))
    net, card = train(**{**spec, "epochs": args.epochs or spec["epochs"]})
    out = args.out or (SCORE_DIR if name == CLASSIFIER else LIBRARY_SCORE_DIR)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, out / f"{name}.safetensors")
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
