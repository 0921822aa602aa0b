"""Train the embedded models and write their safetensors weights and model cards.

    python -m art_reps.train.zoo                  # every model, into art_reps/zoo/weights
    python -m art_reps.train.zoo standard --out /tmp/zoo
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ..data.digits_on_textures import digits_on_textures
from ..zoo.architectures import ARCHITECTURES
from .adversarial import accuracy, train_classifier

SPECS = {
    "standard": dict(architecture="SmallResNet", eps=0.0, seed=0),
    "l2_eps0.02": dict(architecture="SmallResNet", eps=0.02, seed=0),
    "l2_eps0.05": dict(architecture="SmallResNet", eps=0.05, seed=0),
    "l2_eps0.1": dict(architecture="SmallResNet", eps=0.1, seed=0),
    "l2_eps0.25": dict(architecture="SmallResNet", eps=0.25, seed=0),
    "judge": dict(architecture="JudgeNet", eps=0.0, seed=1234, noise_std=0.1),
    "judge_robust": dict(architecture="JudgeNet", eps=0.25, seed=1234),
}
EPOCHS = 10
ATTACK_STEPS = 3
EVAL_EPS = (0.25, 0.5)
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "zoo" / "weights"


def train_one(name: str, out: Path = WEIGHTS_DIR, *, epochs: int = EPOCHS, progress: bool = True) -> dict:
    """Train the embedded model ``name``, evaluate it on the test split, write weights + card."""
    from safetensors.torch import save_file

    spec = SPECS[name]
    torch.manual_seed(spec["seed"])
    model = ARCHITECTURES[spec["architecture"]]().to(memory_format=torch.channels_last)
    train, test = digits_on_textures("train"), digits_on_textures("test")
    start = time.time()
    history = train_classifier(model, train.images, train.labels, epochs=epochs, eps=spec["eps"],
                               attack_steps=ATTACK_STEPS, noise_std=spec.get("noise_std", 0.0),
                               seed=spec["seed"], progress=progress)
    seconds = time.time() - start
    card = {
        "name": name,
        "architecture": spec["architecture"],
        "training": {"norm": "l2", "eps": spec["eps"], "attack_steps": ATTACK_STEPS if spec["eps"] else 0,
                     "noise_std": spec.get("noise_std", 0.0), "epochs": epochs, "seed": spec["seed"],
                     "batch_size": 128, "optimizer": "SGD nesterov 0.9, wd 5e-4, one-cycle lr 0.1",
                     "final_loss": round(history[-1], 4), "seconds": round(seconds, 1),
                     "torch": torch.__version__.split("+")[0]},
        "data": "digits_on_textures(seed=0): 8000 train / 1000 test",
        "clean_accuracy": round(accuracy(model, test.images, test.labels), 4),
        "pgd_accuracy": [
            {"norm": "l2", "eps": e, "steps": 20, "step_size": "2.5*eps/20",
             "accuracy": round(accuracy(model, test.images, test.labels, eps=e), 4)}
            for e in (EVAL_EPS if spec["architecture"] != "JudgeNet" or spec["eps"] else ())
        ],
        "command": f"python -m art_reps.train.zoo {name}",
    }
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / f"{name}.safetensors"), metadata={"architecture": spec["architecture"]})
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"models to train, of {list(SPECS)} (default: all)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in SPECS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(SPECS)}")
    for name in args.names or list(SPECS):
        card = train_one(name, args.out, epochs=args.epochs)
        print(json.dumps(card))


if __name__ == "__main__":
    main()
