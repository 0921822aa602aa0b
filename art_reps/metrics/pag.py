"""Perceptually aligned gradients as a number (Srinivas, Bordt & Lakkaraju 2023): how well a
classifier's input gradients agree with those of a generative model of the data.

By Bayes' rule the gradient a perfect classifier would have is ``grad_x log p(y | x) =
grad_x log p(x | y) - grad_x log p(x)``, the difference of a class-conditional and an
unconditional score; a denoising score model of the data at noise ``sigma``
(:class:`art_reps.zoo.score.ScoreNet`, shipped at 0.5) estimates both. The PAG score of an image is the cosine
similarity between that difference and the classifier's ``grad_x log softmax(f(x))_y``, both
taken at ``x + sigma * e`` (the noisy image the score model knows), or the classifier's at the
clean ``x`` (``clean_gradient=True``). A reference may also put the class in a noise-conditional
classifier (:class:`art_reps.zoo.score.GuidedScore`).

A reference must carry the class before it scores anything (:func:`reference_checks`): its class
direction should lie on the digit's ink (``INK_FACTOR`` times the ink's share of pixels) and point
from the noisy image towards the clean one more for the true label than for a wrong one (on at
least ``TRUE_BEATS_WRONG`` of the images).

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
from .statistics import mean_interval, proportion

INK_FACTOR = 2.0
TRUE_BEATS_WRONG = 0.8


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


def _reference(images, labels, score_model, batch_size: int):
    """The checked score model (the shipped one by default) and ``labels``."""
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
    return score_model, labels


def _noisy(images: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    return images + sigma * Draws(seed, range(len(images))).randn(images.shape[1:], images)  # any batch_size


def pag_score(model, images: torch.Tensor, labels: torch.Tensor, *, score_model=None, clean_gradient: bool = False,
              seed: int = 0, batch_size: int = 250, **representation_options) -> dict:
    """Mean PAG score over ``images`` (N, C, H, W) in [0, 1] with their ``labels`` (N,), with a BCa
    bootstrap interval; ``per_image`` the N cosines. ``score_model`` defaults to the shipped one;
    ``clean_gradient`` takes the model's gradient at the clean images."""
    score_model, labels = _reference(images, labels, score_model, batch_size)
    noisy = _noisy(images, score_model.sigma, seed)
    cosines = []
    for i in range(0, len(images), batch_size):
        x, y = noisy[i:i + batch_size], labels[i:i + batch_size]
        at = images[i:i + batch_size] if clean_gradient else x
        g_model = classifier_gradient(model, at, y, **representation_options).flatten(1)
        g_data = generative_gradient(score_model, x, y).flatten(1)
        cosines.append(F.cosine_similarity(g_model, g_data, dim=1))
    per_image = torch.cat(cosines)
    return {**mean_interval(per_image), "per_image": per_image.tolist()}


def reference_checks(images: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor, *, score_model=None,
                     seed: int = 0, batch_size: int = 250) -> dict:
    """Does a reference's class direction ``d(y) = s(x~, y) - s(x~)`` (at ``x~ = x + sigma e``, as
    :func:`pag_score` takes it) carry the class? On ``images`` (N, 3, H, W) with their ``labels`` and
    ink ``masks`` (N, H, W): ``ink_energy``, the share of |d(y)|^2 on the ink (> 0.5), beside
    ``ink_share``, the ink's share of pixels; ``true_beats_wrong``, how often ``d(true) - d(wrong)``
    points from ``x~`` towards ``x`` (a wrong label drawn per image); ``class_cosine`` of ``d(true)``
    and ``d(wrong)``; ``relative_size`` |d(y)| / |s(x~)|; ``passes`` by the registered bars.

    Examples:
        >>> import art_reps
        >>> val = art_reps.data.digits_on_textures("val")[:20]
        >>> sorted(reference_checks(val.images, val.labels, val.masks))[:3]
        ['class_cosine', 'ink_energy', 'ink_share']
    """
    score_model, labels = _reference(images, labels, score_model, batch_size)
    if not isinstance(masks, torch.Tensor) or tuple(masks.shape) != (len(images), *images.shape[2:]):
        raise ValueError(f"masks must be a tensor of shape {(len(images), *images.shape[2:])} (one ink mask an "
                         f"image), got {getattr(masks, 'shape', type(masks).__name__)}")
    noisy = _noisy(images, score_model.sigma, seed)
    shift = torch.randint(1, 10, (len(labels),), generator=torch.Generator().manual_seed(seed))
    wrong = (labels + shift.to(labels.device)) % 10
    ink = (masks > 0.5).to(images.dtype)[:, None]
    parts: dict[str, list] = {k: [] for k in ("ink_energy", "ink_share", "beats", "class_cosine", "relative_size")}
    for i in range(0, len(images), batch_size):
        x, x_clean, y, w, m = (t[i:i + batch_size] for t in (noisy, images, labels, wrong, ink))
        with torch.no_grad():
            plain = score_model(x, None)
        d_true, d_wrong = generative_gradient(score_model, x, y), generative_gradient(score_model, x, w)
        energy = d_true.pow(2)
        parts["ink_energy"].append((energy * m).flatten(1).sum(1) / energy.flatten(1).sum(1).clamp_min(1e-30))
        parts["ink_share"].append(m.flatten(1).mean(1))
        parts["beats"].append(((d_true - d_wrong) * (x_clean - x)).flatten(1).sum(1) > 0)
        parts["class_cosine"].append(F.cosine_similarity(d_true.flatten(1), d_wrong.flatten(1), dim=1))
        parts["relative_size"].append(d_true.flatten(1).norm(dim=1) / plain.flatten(1).norm(dim=1).clamp_min(1e-30))
    r = {k: torch.cat(v) for k, v in parts.items()}
    checks = {"ink_energy": mean_interval(r["ink_energy"]), "ink_share": mean_interval(r["ink_share"]),
              "true_beats_wrong": proportion(r["beats"]), "class_cosine": mean_interval(r["class_cosine"]),
              "relative_size": mean_interval(r["relative_size"]), "sigma": score_model.sigma}
    checks["passes"] = bool(checks["ink_energy"]["low"] >= INK_FACTOR * checks["ink_share"]["score"]
                            and checks["true_beats_wrong"]["score"] >= TRUE_BEATS_WRONG)
    return checks
