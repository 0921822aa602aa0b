"""How plausible feature visualisations are as images of their class, to a judge that is not the
model visualised (after Fel et al. 2023's plausibility: nearness to natural images of the class
in a network's feature space).

Per image: ``similarity``, the cosine between the judge's ``features`` of the image and the mean
feature of the class's real images; ``confidence``, the judge's probability of the class; and
``recognised``, whether the judge's top class is it.

Examples:
    >>> import art_reps
    >>> test = art_reps.data.digits_on_textures("test")
    >>> r = plausibility(test.images[:50], test.labels[:50], art_reps.load_model("judge"), test)
    >>> r["recognised"]["score"] >= 0.75, r["similarity"]["score"] > 0.5, r["similarity"]["n"]
    (True, True, 50)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.checks import check_images, check_labels
from .recognition import activations, probabilities
from .statistics import mean_interval, proportion


def class_centres(judge, references, *, layer: str = "features") -> torch.Tensor:
    """The mean ``layer`` feature (K, D) of each class's images in ``references`` (``.images``, ``.labels``)."""
    feats = activations(judge, references.images, layer=layer).flatten(1)
    classes = int(references.labels.max()) + 1
    return torch.stack([feats[references.labels == k].mean(0) for k in range(classes)])


def plausibility_hits(images: torch.Tensor, labels: torch.Tensor, judge, references, *,
                      layer: str = "features", centres: torch.Tensor | None = None) -> dict:
    """Per image (N,): ``similarity``, ``confidence`` and ``recognised`` (see the module);
    ``centres`` (K, D) from :func:`class_centres`, when already computed, saves reading ``references``."""
    check_images(images, "images")
    classes = len(centres) if centres is not None else int(references.labels.max()) + 1
    labels = check_labels(labels, len(images), classes=classes)
    if centres is None:
        centres = class_centres(judge, references, layer=layer)
    feats = activations(judge, images, layer=layer).flatten(1)
    probs = probabilities(judge, images)
    return {"similarity": F.cosine_similarity(feats, centres[labels].to(feats), dim=1),
            "confidence": probs.gather(1, labels.view(-1, 1).to(probs.device)).squeeze(1),
            "recognised": probs.argmax(1).cpu() == labels}


def plausibility(images: torch.Tensor, labels: torch.Tensor, judge, references, *, layer: str = "features") -> dict:
    """The three per-image measures as means with intervals (BCa bootstrap; Wilson for ``recognised``)."""
    hits = plausibility_hits(images, labels, judge, references, layer=layer)
    return {"similarity": mean_interval(hits["similarity"]), "confidence": mean_interval(hits["confidence"]),
            "recognised": proportion(hits["recognised"])}
