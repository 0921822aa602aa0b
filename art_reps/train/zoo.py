"""Train the embedded models and write their safetensors weights and model cards.

    python -m art_reps.train.zoo                  # every model, into art_reps/zoo/weights
    python -m art_reps.train.zoo standard --out /tmp/zoo

Every card gives clean accuracy on the 1,000 test images; SmallResNets also PGD-20 accuracy (3
random restarts, best iterate) at L2 0.25, 0.5 and 1.0, and AutoAttack accuracy (torchattacks,
standard version) on 200 test images (20 per class) at the model's own eps (0.25 for ``standard``).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ..data.digits_on_textures import digits_on_textures
from ..zoo.architectures import ARCHITECTURES
from .adversarial import accuracy, autoattack_accuracy, train_classifier

_SWEEP = dict(architecture="SmallResNet", seed=0, epochs=10, attack_steps=3)
_ROBUST = dict(architecture="SmallResNet", seed=0, epochs=20, attack_steps=7)
_JUDGE = dict(seed=1234, epochs=15, noise_std=0.1, backgrounds="judge")
SPECS = {
    "standard": dict(_SWEEP, eps=0.0),
    "l2_eps0.02": dict(_SWEEP, eps=0.02),
    "l2_eps0.05": dict(_SWEEP, eps=0.05),
    "l2_eps1": dict(_ROBUST, eps=1.0),
    "judge": dict(_JUDGE, architecture="JudgeNet", eps=0.0),
    "judge_mixer": dict(_JUDGE, architecture="MixerJudge", eps=0.0, seed=4321),
}
PGD_EPS = (0.25, 0.5, 1.0)
PGD_RESTARTS = 3
AUTOATTACK_PER_CLASS = 20
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "zoo" / "weights"


def evaluate(model: torch.nn.Module, spec: dict) -> dict:
    """The card's accuracies: clean; for SmallResNets PGD and AutoAttack (see the module docstring)."""
    test = digits_on_textures("test")
    card = {"clean_accuracy": round(accuracy(model, test.images, test.labels), 4), "pgd_accuracy": [],
            "autoattack_accuracy": []}
    if spec["architecture"] != "SmallResNet":
        return card
    for eps in PGD_EPS:
        acc = accuracy(model, test.images, test.labels, eps=eps, restarts=PGD_RESTARTS)
        card["pgd_accuracy"].append({"norm": "l2", "eps": eps, "steps": 20, "step_size": "2.5*eps/20",
                                     "restarts": PGD_RESTARTS, "images": len(test), "accuracy": round(acc, 4)})
    index = torch.cat([torch.nonzero(test.labels == c).flatten()[:AUTOATTACK_PER_CLASS] for c in range(10)])
    eps = spec["eps"] or 0.25
    acc = autoattack_accuracy(model, test.images[index], test.labels[index], eps=eps)
    card["autoattack_accuracy"].append({"norm": "l2", "eps": eps, "version": "standard", "images": len(index),
                                        "accuracy": round(acc, 4)})
    return card


def train_one(name: str, out: Path = WEIGHTS_DIR, *, epochs: int | None = None, progress: bool = True) -> dict:
    """Train the embedded model ``name``, evaluate it on the test split, write weights + card."""
    from safetensors.torch import save_file

    spec = SPECS[name]
    epochs = epochs or spec["epochs"]
    attack_steps = spec.get("attack_steps", 0) if spec["eps"] else 0
    backgrounds = spec.get("backgrounds", "model")
    torch.manual_seed(spec["seed"])
    model = ARCHITECTURES[spec["architecture"]]().to(memory_format=torch.channels_last)
    train = digits_on_textures("train", backgrounds=backgrounds)
    start = time.time()
    history = train_classifier(model, train.images, train.labels, epochs=epochs, eps=spec["eps"],
                               attack_steps=max(attack_steps, 1), noise_std=spec.get("noise_std", 0.0),
                               seed=spec["seed"], progress=progress)
    seconds = time.time() - start
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / f"{name}.safetensors"), metadata={"architecture": spec["architecture"]})
    card = {
        "name": name,
        "architecture": spec["architecture"],
        "training": {"norm": "l2", "eps": spec["eps"], "attack_steps": attack_steps,
                     "noise_std": spec.get("noise_std", 0.0), "epochs": epochs, "seed": spec["seed"],
                     "batch_size": 128, "optimizer": "SGD nesterov 0.9, wd 5e-4, one-cycle lr 0.1",
                     "final_loss": round(history[-1], 4), "seconds": round(seconds, 1),
                     "torch": torch.__version__.split("+")[0]},
        "data": f"digits_on_textures(seed=0, backgrounds={backgrounds!r}): 8000 train images of 3500 MNIST digits",
        **evaluate(model, spec),
        "command": f"python -m art_reps.train.zoo {name}",
    }
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"models to train, of {list(SPECS)} (default: all)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--epochs", type=int, default=None, help="override the model's number of epochs")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in SPECS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(SPECS)}")
    for name in args.names or list(SPECS):
        card = train_one(name, args.out, epochs=args.epochs)
        print(json.dumps(card))


if __name__ == "__main__":
    main()
