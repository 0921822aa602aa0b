"""The embedded default's models (safetensors with a model card each, trained by the
repository's ``python -m reproduction.train NAME``) and loaders for your own models.

The wheel holds what the demo and the library's defaults need: the standard and the robust
SmallResNet, the judge behind :class:`~art_reps.metrics.distances.JudgeDistance` and the pair of
judges the demo reports (:data:`DEMO_JUDGE`). Any other folder of carded weights loads with
``folder=``.

Examples:
    >>> from art_reps import zoo
    >>> zoo.list_models()
    ['glyph_judge', 'glyph_mixer', 'judge', 'l2_eps1', 'standard']
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
STANDARD, ROBUST, JUDGE = "standard", "l2_eps1", "judge"
# The demo's judge: the mean of two judges that learned no MNIST digit (handwriting from
# scikit-learn and matplotlib's fonts); the one that passed round 4's controls in the reproduction
# (docs/judging.md says what round 5's stricter controls found).
DEMO_JUDGE, DEMO_JUDGE_MEMBERS = "glyph_pair", ("glyph_judge", "glyph_mixer")


def list_models(*, folder: str | Path | None = None) -> list[str]:
    """Names of the models in ``folder`` (default: the embedded ones)."""
    return sorted(p.stem for p in Path(folder or WEIGHTS_DIR).glob("*.safetensors"))


def model_card(name: str, *, folder: str | Path | None = None) -> dict:
    """The card of a model of ``folder`` (default: the embedded ones): accuracies, training
    settings and the command that made it."""
    _check_name(name, folder)
    return json.loads((Path(folder or WEIGHTS_DIR) / f"{name}.json").read_text())


def load_model(name: str = ROBUST, *, device: str | torch.device | None = None,
               folder: str | Path | None = None) -> torch.nn.Module:
    """A model of ``folder`` (default: the embedded ones) in eval mode, built from its card, ready
    for images (N, 3, 32, 32) in [0, 1] (no normalisation).

    Examples:
        >>> model = load_model("standard")
        >>> model(torch.rand(1, 3, 32, 32)).shape
        torch.Size([1, 10])
    """
    card = model_card(name, folder=folder)
    model = ARCHITECTURES[card["architecture"]](**card.get("architecture_options", {}))
    state = load_state_dict(Path(folder or WEIGHTS_DIR) / f"{name}.safetensors")
    model.load_state_dict(state)
    if "smoothing" in card:  # a randomised-smoothing judge: the vote of its base under Gaussian noise
        model = Smoothed(model, **card["smoothing"])
    return model.to(device or "cpu").eval()


def load_judge(*, device: str | torch.device | None = None) -> Ensemble:
    """The demo's judge (:data:`DEMO_JUDGE`) in eval mode: the mean of its members' class
    probabilities, for images (N, 3, 32, 32) in [0, 1].

    Examples:
        >>> load_judge()(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return Ensemble([load_model(m, device=device) for m in DEMO_JUDGE_MEMBERS]).eval()


def _check_name(name, folder=None) -> None:
    names = list_models(folder=folder)
    if name not in names:
        raise ValueError(f"unknown model {name!r}; the models {'embedded' if folder is None else f'in {folder}'} "
                         f"are {names}")


__all__ = [
    "ARCHITECTURES", "JudgeNet", "SmallResNet", "Smoothed", "Ensemble", "LoadedModel", "list_models", "model_card",
    "load_model",
    "load_judge", "load_state_dict", "load_torchvision", "load_madrylab", "IMAGENET_MEAN", "IMAGENET_STD",
    "REPRESENTATION_LAYER", "STANDARD", "ROBUST", "JUDGE", "DEMO_JUDGE", "DEMO_JUDGE_MEMBERS", "WEIGHTS_DIR",
]
