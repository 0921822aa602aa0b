"""Every model of the studies: the library's embedded ones and the study-only ones beside them.

The study-only models (the eps sweep, the pipeline grid and its replicates, the first judges'
variants, the noise-conditional classifier) live in ``reproduction/weights``, never in the wheel;
the embedded default (``art_reps.zoo``) holds what the library's demo and defaults need. Both
folders hold safetensors files with their cards, loaded by :func:`art_reps.zoo.load_model`.

Examples:
    >>> "l2_eps0.05" in list_models() and "l2_eps1" in list_models()
    True
    >>> folder_of("l2_eps1") == zoo.WEIGHTS_DIR
    True
"""
from __future__ import annotations

from pathlib import Path

import torch

from art_reps import zoo
from art_reps.zoo.score import guided_score

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SCORE_DIR = WEIGHTS_DIR / "score"
LOW_EPS = "l2_eps0.05"


def folder_of(name: str) -> Path:
    """The folder that holds model ``name`` (the library's for an embedded one)."""
    return zoo.WEIGHTS_DIR if name in zoo.list_models() else WEIGHTS_DIR


def list_models() -> list[str]:
    """Every model's name, embedded or study-only."""
    return sorted({*zoo.list_models(), *zoo.list_models(folder=WEIGHTS_DIR)})


def model_card(name: str) -> dict:
    return zoo.model_card(name, folder=folder_of(name))


def load_model(name: str, *, device: str | torch.device | None = None) -> torch.nn.Module:
    return zoo.load_model(name, device=device, folder=folder_of(name))


def models_table(*, embedded: bool = False) -> str:
    """Every model's card as a markdown table (docs/models.md), the replicates at other training
    seeds after it, by clean accuracy; ``embedded``: the wheel's models only (the README's table,
    as ``art-reps models`` prints it)."""
    from art_reps.cli.main import models_table as table

    from .train import REPLICATES

    if embedded:
        return table({name: zoo.model_card(name) for name in zoo.list_models()})
    rows = table({name: model_card(name) for name in list_models() if name not in REPLICATES})
    again = [n for n in list_models() if n in REPLICATES]
    if again:
        rows += "\n\nThe same recipes at other training seeds (clean accuracy): " + ", ".join(
            f"`{n}` {model_card(n)['clean_accuracy']:.3f}" for n in again) + "."
    return rows


def guided_reference(*, device: str | torch.device | None = None):
    """The guided PAG reference with the study's noise-conditional classifier."""
    return guided_score(SCORE_DIR, device=device)
