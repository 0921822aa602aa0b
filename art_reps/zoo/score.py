"""A class-conditional denoising score model of the embedded data: the generative model whose
gradients the PAG score compares a classifier's with (:func:`art_reps.metrics.pag_score`).

``ScoreNet(x, y)`` estimates the score of the data smoothed by Gaussian noise of ``sigma``,
``grad_x log p_sigma(x | y)`` (N, 3, H, W); ``y = None`` (or ``ScoreNet.NULL``) the unconditional
score, learned by dropping the label (as classifier-free guidance does). Trained by
the repository's ``python -m reproduction.train_score``; shipped as
``zoo/weights/score/score_dsm.safetensors`` with its card.

A second reference puts the class information in a classifier instead: ``NoisyClassifier`` reads
``p_sigma(y | x)`` of noisy images at any ``sigma`` in [0.05, 0.5] (the reproduction's
``noisy_classifier``), and ``GuidedScore`` is the class-conditional score it gives by Bayes' rule,
``s(x) + grad_x log p_sigma(y | x)`` (classifier guidance, Dhariwal & Nichol 2021).

Examples:
    >>> net = ScoreNet()
    >>> net(torch.rand(2, 3, 32, 32), torch.tensor([0, 3])).shape
    torch.Size([2, 3, 32, 32])
    >>> NoisyClassifier(width=8)(torch.rand(2, 3, 32, 32), 0.3).shape
    torch.Size([2, 10])
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from .architectures import SmallResNet

SCORE_DIR = Path(__file__).resolve().parent / "weights" / "score"
NAME = "score_dsm"
CLASSIFIER = "noisy_classifier"


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, classes: int):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3, padding=1), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.norm1, self.norm2 = nn.GroupNorm(8, c_out), nn.GroupNorm(8, c_out)
        self.film = nn.Embedding(classes, 2 * c_out)  # per-class scale and shift, from none: each class
        nn.init.zeros_(self.film.weight)               # starts as the unconditional model and departs from it
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, y):
        h = torch.relu(self.norm1(self.conv1(x)))
        scale, shift = self.film(y)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(self.conv2(h)) * (1 + scale) + shift
        return torch.relu(h + self.skip(x))


class ScoreNet(nn.Module):
    """A small U-Net (16-32-64 channels by default, two scales) with per-class FiLM; ``classes + 1`` rows,
    the last the unconditional one; ``image_size`` (H, W): the images it learns the score of."""

    def __init__(self, classes: int = 10, width: int = 16, sigma: float = 0.5, image_size: tuple = (32, 32)):
        super().__init__()
        self.NULL, self.sigma, self.image_size = classes, sigma, tuple(image_size)
        w = width
        self.down1, self.down2 = _Block(3, w, classes + 1), _Block(w, 2 * w, classes + 1)
        self.mid = _Block(2 * w, 4 * w, classes + 1)
        self.up2, self.up1 = _Block(6 * w, 2 * w, classes + 1), _Block(3 * w, w, classes + 1)
        self.out = nn.Conv2d(w, 3, 3, padding=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            y = torch.full((x.shape[0],), self.NULL, dtype=torch.long, device=x.device)
        h1 = self.down1(x - 0.5, y)
        h2 = self.down2(nn.functional.avg_pool2d(h1, 2), y)
        h3 = self.mid(nn.functional.avg_pool2d(h2, 2), y)
        u2 = self.up2(torch.cat([nn.functional.interpolate(h3, scale_factor=2), h2], 1), y)
        u1 = self.up1(torch.cat([nn.functional.interpolate(u2, scale_factor=2), h1], 1), y)
        return self.out(u1) / self.sigma  # the score's scale is 1 / sigma


class NoisyClassifier(nn.Module):
    """``p_sigma(y | x)``: a SmallResNet that reads a noisy image (N, 3, H, W) and its noise level
    ``sigma`` (a number, or (N,)) as a fourth, constant channel; logits (N, classes)."""

    def __init__(self, classes: int = 10, width: int = 32):
        super().__init__()
        self.net = SmallResNet(num_classes=classes, width=width, in_channels=4)

    def forward(self, x: torch.Tensor, sigma) -> torch.Tensor:
        level = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
        return self.net(torch.cat([x, level.expand(len(x), 1, *x.shape[2:])], 1))


class GuidedScore(nn.Module):
    """The class-conditional score ``s(x) + grad_x log p_sigma(y | x)`` (N, 3, H, W) of a score model's
    unconditional score and a :class:`NoisyClassifier` at ``sigma``; ``y = None`` gives ``s(x)``.
    It serves :func:`art_reps.metrics.pag_score` as a score model does (``sigma`` is the noise it
    adds), and its class direction ``s(x, y) - s(x)`` is the classifier's gradient alone."""

    def __init__(self, score_model: ScoreNet, classifier: NoisyClassifier, sigma: float):
        super().__init__()
        self.score_model, self.classifier, self.sigma = score_model, classifier, float(sigma)
        self.NULL, self.image_size = score_model.NULL, score_model.image_size

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        with torch.no_grad():
            score = self.score_model(x, None)
        if y is None:
            return score
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            log_p = torch.log_softmax(self.classifier(x, self.sigma), 1).gather(1, y.view(-1, 1)).sum()
            (grad,) = torch.autograd.grad(log_p, x)
        return score + grad


def _card(name: str, folder=None) -> dict:
    return json.loads((Path(folder or SCORE_DIR) / f"{name}.json").read_text())


def load_score_model(*, device: str | torch.device | None = None, folder: str | Path | None = None) -> ScoreNet:
    """The score model of ``folder`` (default: the shipped one), in eval mode."""
    net = ScoreNet(**_card(NAME, folder)["architecture_options"])
    net.load_state_dict(load_file(Path(folder or SCORE_DIR) / f"{NAME}.safetensors"))
    return net.to(device or "cpu").eval()


def load_noisy_classifier(folder: str | Path, *, device: str | torch.device | None = None) -> NoisyClassifier:
    """The noise-conditional classifier of ``folder`` (trained in the reproduction), in eval mode."""
    net = NoisyClassifier(**_card(CLASSIFIER, folder)["architecture_options"])
    net.load_state_dict(load_file(Path(folder) / f"{CLASSIFIER}.safetensors"))
    return net.to(device or "cpu").eval()


def guided_score(folder: str | Path, *, device: str | torch.device | None = None) -> GuidedScore:
    """The guided reference: the shipped score model's unconditional score and the noise-conditional
    classifier of ``folder`` at the noise level registered in its card (``chosen_sigma``)."""
    return GuidedScore(load_score_model(device=device), load_noisy_classifier(folder, device=device),
                       _card(CLASSIFIER, folder)["chosen_sigma"]["sigma"])


def score_card(name: str = NAME, *, folder: str | Path | None = None) -> dict:
    return _card(name, folder)
