"""Train the embedded models and write their safetensors weights and model cards.

    python -m art_reps.train.zoo                  # every model but the pipeline grid, into art_reps/zoo/weights
    python -m art_reps.train.zoo standard --out /tmp/zoo
    python -m art_reps.train.zoo grid             # the pipeline grid's eight models

Every card gives clean accuracy on the 1,000 test images (for contrastive models, through the
linear probe fitted on the training images); the robustness sweep's SmallResNets also PGD-20
accuracy (3 random restarts, best iterate) at L2 0.25, 0.5 and 1.0, and AutoAttack accuracy
(torchattacks, standard version) on 200 test images (20 per class) at the model's own eps (0.25
for ``standard``); the pipeline grid's adversarially trained models AutoAttack accuracy only.

The pipeline grid (Nanda et al.'s training-pipeline study, :mod:`art_reps.studies.pipeline_study`):
{with residual connections, without} x {cross-entropy, SimCLR} x {none, L2 adversarial
augmentation at eps 0.5}, width-16 SmallResNets, named ``{resnet|plain}_{ce|simclr}[_l2]``.
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
from .contrastive import linear_probe, train_contrastive

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
GRID_EPS = 0.5
_GRID = dict(architecture="SmallResNet", seed=0, attack_steps=3, pgd=False)
for _residual in (True, False):
    for _loss, _epochs in (("ce", 10), ("simclr", 20)):
        for _eps in (0.0, GRID_EPS):
            SPECS[f"{'resnet' if _residual else 'plain'}_{_loss}{'_l2' if _eps else ''}"] = dict(
                _GRID, loss=_loss, epochs=_epochs, eps=_eps, options={"width": 16, "residual": _residual})
GRID = tuple(name for name in SPECS if name.startswith(("resnet_", "plain_")))
PGD_EPS = (0.25, 0.5, 1.0)
PGD_RESTARTS = 3
AUTOATTACK_PER_CLASS = 20
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "zoo" / "weights"


def evaluate(model: torch.nn.Module, spec: dict) -> dict:
    """The card's accuracies: clean; for SmallResNets PGD and AutoAttack (see the module docstring)."""
    test = digits_on_textures("test")
    card = {"clean_accuracy": round(accuracy(model, test.images, test.labels), 4), "pgd_accuracy": [],
            "autoattack_accuracy": []}
    if spec["architecture"] != "SmallResNet" or (not spec.get("pgd", True) and not spec["eps"]):
        return card
    for eps in PGD_EPS if spec.get("pgd", True) else ():
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
    options = spec.get("options", {})
    model = ARCHITECTURES[spec["architecture"]](**options).to(memory_format=torch.channels_last)
    train = digits_on_textures("train", backgrounds=backgrounds)
    start = time.time()
    if spec.get("loss") == "simclr":
        history = train_contrastive(model, train.images, epochs=epochs, eps=spec["eps"],
                                    attack_steps=max(attack_steps, 1), seed=spec["seed"], progress=progress)
        probe = {"linear_probe": "fc fitted by L-BFGS on the frozen avgpool features of the training images",
                 "probe_train_accuracy": round(linear_probe(model, "fc", train.images, train.labels), 4)}
    else:
        history = train_classifier(model, train.images, train.labels, epochs=epochs, eps=spec["eps"],
                                   attack_steps=max(attack_steps, 1), noise_std=spec.get("noise_std", 0.0),
                                   seed=spec["seed"], progress=progress)
        probe = {}
    seconds = time.time() - start
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / f"{name}.safetensors"), metadata={"architecture": spec["architecture"]})
    loss = spec.get("loss", "ce")
    card = {
        "name": name,
        "architecture": spec["architecture"],
        **({"architecture_options": options} if options else {}),
        "training": {"loss": {"ce": "cross-entropy", "simclr": "SimCLR NT-Xent (temperature 0.5), then linear probe"}[loss],
                     "norm": "l2", "eps": spec["eps"], "attack_steps": attack_steps,
                     "noise_std": spec.get("noise_std", 0.0), "epochs": epochs, "seed": spec["seed"],
                     "batch_size": 256 if loss == "simclr" else 128,
                     "optimizer": "SGD nesterov 0.9, wd 5e-4, one-cycle lr 0.1", **probe,
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
    parser.add_argument("names", nargs="*", help=f"models to train, of {list(SPECS)}, or 'grid' for the pipeline grid (default: all but the grid)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--epochs", type=int, default=None, help="override the model's number of epochs")
    args = parser.parse_args(argv)
    names = [m for n in args.names for m in (GRID if n == "grid" else [n])]
    unknown = [n for n in names if n not in SPECS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(SPECS)} or 'grid'")
    for name in names or [n for n in SPECS if n not in GRID]:
        card = train_one(name, args.out, epochs=args.epochs)
        print(json.dumps(card))


if __name__ == "__main__":
    main()
