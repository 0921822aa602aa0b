"""Perceptually aligned gradients as a number (Srinivas, Bordt & Lakkaraju 2023): how well a
classifier's input gradients agree with those of a generative model of the data.

By Bayes' rule the gradient a perfect classifier would have is ``grad_x log p(y | x) =
grad_x log p(x | y) - grad_x log p(x)``, the difference of a class-conditional and an
unconditional score; a denoising score model of the data at noise ``sigma``
(:class:`art_reps.zoo.score.ScoreNet`, shipped at 0.5) estimates both. The PAG score of an image is the cosine
similarity between that difference and the classifier's ``grad_x log softmax(f(x))_y``, both
taken at ``x + sigma * e`` (the noisy image the score model knows).

Examples:
    >>> import art_reps
    >>> test = art_reps.data.digits_on_textures("test")
    >>> r = pag_score(art_reps.load_model("l2_eps1"), test.images[:20], test.labels[:20])
    >>> sorted(r), -1 <= r["score"] <= 1, r["n"]
    (['high', 'low', 'n', 'per_image', 'score'], True, 20)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core import Draws, Representation
from ..core.checks import check_count, check_images, check_labels
from .statistics import mean_interval


def generative_gradient(score_model, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``s(x, y) - s(x)`` (N, C, H, W): the score model's estimate of ``grad_x log p(y | x)``."""
    with torch.no_grad():
        return score_model(images, labels) - score_model(images, None)


def classifier_gradient(model, images: torch.Tensor, labels: torch.Tensor, **representation_options) -> torch.Tensor:
    """``grad_x log softmax(model(x))_y`` (N, C, H, W); the model comes back as it was."""
    rep = Representation(model, "", **representation_options)
    x = images.detach().to(rep.device, rep.dtype).requires_grad_(True)
    with rep.attached() as read, torch.enable_grad():
        log_p = F.log_softmax(read(x)[""].float(), dim=1).gather(1, labels.to(rep.device).view(-1, 1)).sum()
        (grad,) = torch.autograd.grad(log_p, x)
    return grad.to(images.device)


def pag_score(model, images: torch.Tensor, labels: torch.Tensor, *, score_model=None, seed: int = 0,
              batch_size: int = 250, **representation_options) -> dict:
    """Mean PAG score over ``images`` (N, C, H, W) in [0, 1] with their ``labels`` (N,), with a BCa
    bootstrap interval; ``per_image`` the N cosines. ``score_model`` defaults to the shipped one."""
    check_images(images, "images", channels=3)
    check_count(batch_size, "batch_size")
    if score_model is None:
        from ..zoo.score import load_score_model

        score_model = load_score_model()
    labels = check_labels(labels, len(images), classes=getattr(score_model, "NULL", None))
    size = getattr(score_model, "image_size", None)
    if size is not None and tuple(images.shape[-2:]) != tuple(size):
        raise ValueError(f"images are {tuple(images.shape[-2:])} px but the score model was trained on {tuple(size)} "
                         "px images: give images of its size or a score model of theirs")
    noise = Draws(seed, range(len(images))).randn(images.shape[1:], images)  # the same for any batch_size
    noisy = images + score_model.sigma * noise
    cosines = []
    for i in range(0, len(images), batch_size):
        x, y = noisy[i:i + batch_size], labels[i:i + batch_size]
        g_model = classifier_gradient(model, x, y, **representation_options).flatten(1)
        g_data = generative_gradient(score_model, x, y).flatten(1)
        cosines.append(F.cosine_similarity(g_model, g_data, dim=1))
    per_image = torch.cat(cosines)
    return {**mean_interval(per_image), "per_image": per_image.tolist()}
