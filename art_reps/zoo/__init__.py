"""Embedded models (trained by ``python -m art_reps.train.zoo``, shipped as safetensors with a
model card each) and loaders for your own models.

Examples:
    >>> from art_reps import zoo
    >>> [name for name in zoo.list_models() if name.startswith("l2_")]
    ['l2_eps0.02', 'l2_eps0.05', 'l2_eps0.25', 'l2_eps0.5', 'l2_eps1', 'l2_eps2']
    >>> zoo.model_card("l2_eps1")["training"]["eps"]
    1.0
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from .architectures import ARCHITECTURES, JudgeNet, SmallResNet
from .ensemble import Ensemble
from .smoothing import Smoothed
from .loaders import IMAGENET_MEAN, IMAGENET_STD, LoadedModel, load_madrylab, load_state_dict, load_torchvision

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
REPRESENTATION_LAYER = "avgpool"
STANDARD, ROBUST, LOW_EPS, JUDGE = "standard", "l2_eps1", "l2_eps0.05", "judge"


def list_models() -> list[str]:
    """Names of the embedded models."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.safetensors"))


def model_card(name: str) -> dict:
    """The card of an embedded model: accuracies, training settings and the command that made it."""
    _check_name(name)
    return json.loads((WEIGHTS_DIR / f"{name}.json").read_text())


def load_model(name: str = ROBUST, *, device: str | torch.device | None = None) -> torch.nn.Module:
    """An embedded model in eval mode, ready for images (N, 3, 32, 32) in [0, 1] (no normalisation).

    Examples:
        >>> model = load_model("standard")
        >>> model(torch.rand(1, 3, 32, 32)).shape
        torch.Size([1, 10])
    """
    card = model_card(name)
    model = ARCHITECTURES[card["architecture"]](**card.get("architecture_options", {}))
    state = load_state_dict(WEIGHTS_DIR / f"{name}.safetensors")
    model.load_state_dict(state)
    if "smoothing" in card:  # a randomised-smoothing judge: the vote of its base under Gaussian noise
        model = Smoothed(model, **card["smoothing"])
    return model.to(device or "cpu").eval()


def _check_name(name) -> None:
    names = list_models()
    if name not in names:
        raise ValueError(f"unknown model {name!r}; embedded models are {names}")


__all__ = [
    "ARCHITECTURES", "JudgeNet", "SmallResNet", "Smoothed", "Ensemble", "LoadedModel", "list_models", "model_card", "load_model",
    "load_state_dict", "load_torchvision", "load_madrylab", "IMAGENET_MEAN", "IMAGENET_STD",
    "REPRESENTATION_LAYER", "STANDARD", "ROBUST", "LOW_EPS", "JUDGE", "WEIGHTS_DIR",
]
