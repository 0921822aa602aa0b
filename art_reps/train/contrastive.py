"""Contrastive training (SimCLR's NT-Xent), optionally with adversarial views, and a linear probe.

With ``eps > 0`` each first view is replaced by the view that maximises the contrastive loss
within an L2 or Linf ball (adversarial contrastive learning, Kim et al. 2020's instance-wise
attack): the attack runs through the core's one loop, like the supervised PGD.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..core.checks import check_count, check_images, check_nonnegative, check_positive, resolve_layer
from ..core import Representation, make_geometry
from ..core.objectives import Objective
from .adversarial import seeded_global_rng, attack, check_labels, one_cycle_sgd

TEMPERATURE = 0.5


def simclr_augment(scale=(0.3, 1.0)):
    """SimCLR's augmentations for small images, per image: random resized crop, colour jitter
    (p 0.8) and grayscale (p 0.2). No horizontal flip: it changes digits. Draws from torch's
    global generator. Returns ``augment(images (N, C, H, W)) -> (N, C, H, W)``.

    Examples:
        >>> simclr_augment()(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 3, 32, 32])
    """
    import torchvision.transforms.v2 as T

    def augment(images):
        one = T.Compose([T.RandomResizedCrop(images.shape[-1], scale=scale, antialias=True),
                         T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8), T.RandomGrayscale(0.2)])
        return torch.stack([one(image) for image in images]).clamp(0, 1)

    return augment


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """SimCLR's loss over the 2N embeddings of two views (N, D): each one's positive is its other
    view, its negatives the other 2N - 2; mean over the 2N.

    Examples:
        >>> z = torch.randn(4, 8)
        >>> bool(nt_xent(z, z) < nt_xent(z, torch.randn(4, 8)))
        True
    """
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))
    n = len(z1)
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, positives)


def _info_nce_against(layer: str, head: nn.Module, others: torch.Tensor, temperature: float) -> Objective:
    """Per sample: minus the cross-view InfoNCE of view i against the fixed embeddings ``others``
    of the second views (positive: i): minimising it maximises the contrastive loss."""
    others = F.normalize(others.detach(), dim=1)
    positives = torch.arange(len(others), device=others.device)

    def fn(acts, images):
        z = F.normalize(head(acts[layer].flatten(1)), dim=1)
        return -F.cross_entropy(z @ others.T / temperature, positives, reduction="none")

    return Objective(fn, [layer], "-info_nce")


def train_contrastive(model: nn.Module, images: torch.Tensor, *, layer: str = "avgpool", epochs: int = 15,
                      eps: float = 0.0, norm: str = "l2", attack_steps: int = 3, projection: int = 32,
                      temperature: float = TEMPERATURE, augment=None, batch_size: int = 256, lr: float = 0.1,
                      weight_decay: float = 5e-4, seed: int = 0, progress: bool = True) -> list[float]:
    """Train ``model``'s representation at ``layer`` in place with NT-Xent on two augmented views
    of each image (N, C, H, W) in [0, 1], through a 2-layer projection head that is then dropped
    (SGD-Nesterov, one-cycle lr). ``eps > 0``: the first view is attacked (PGD-``attack_steps``,
    step 2.5·eps/steps, random start, in eval mode). Returns the per-epoch mean loss.
    Give the model a classifier afterwards with :func:`linear_probe`.

    Examples:
        >>> from art_reps.zoo.architectures import SmallResNet
        >>> net = SmallResNet(width=8)
        >>> len(train_contrastive(net, torch.rand(16, 3, 32, 32), epochs=1, batch_size=8, progress=False))
        1
    """
    check_images(images, "images")
    check_count(epochs, "epochs")
    check_count(batch_size, "batch_size", minimum=2)
    check_count(attack_steps, "attack_steps")
    eps = check_nonnegative(eps, "eps")
    temperature = check_positive(temperature, "temperature")
    resolve_layer(model, layer)
    lr, weight_decay = check_positive(lr, "lr"), check_nonnegative(weight_decay, "weight_decay")
    generator = torch.Generator(images.device).manual_seed(seed)
    geometry = make_geometry(norm, eps) if eps > 0 else None
    augment = augment or simclr_augment()
    width = Representation(model, layer)(images[:2])[layer][0].numel()
    head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, projection)).to(images.device)
    captured = {}
    handle = resolve_layer(model, layer).register_forward_hook(lambda m, i, o: captured.__setitem__("z", o))

    def embed(x):
        model(x.contiguous(memory_format=torch.channels_last))
        return head(captured.pop("z").flatten(1))

    step = one_cycle_sgd(list(model.parameters()) + list(head.parameters()), lr=lr, weight_decay=weight_decay,
                         epochs=epochs, steps_per_epoch=math.ceil(len(images) / batch_size))
    history = []
    modes = [(m, m.training) for m in model.modules()]
    try:
        with seeded_global_rng(seed, images.device):  # the augmentations draw from torch's global generator
            for _ in tqdm(range(epochs), desc="epochs", disable=not progress):
                order = torch.randperm(len(images), generator=generator, device=images.device)
                total = 0.0
                for i in range(0, len(images), batch_size):
                    batch = images[order[i:i + batch_size]]
                    if len(batch) < 2:
                        continue
                    view_1, view_2 = augment(batch), augment(batch)
                    if geometry is not None:
                        model.eval()
                        with torch.no_grad():
                            others = embed(view_2)
                        objective = _info_nce_against(layer, head, others, temperature)
                        view_1 = attack(model, objective, view_1, geometry=geometry, steps=attack_steps,
                                        step_size=2.5 * eps / attack_steps, generator=generator)
                    model.train()
                    total += step(nt_xent(embed(view_1), embed(view_2), temperature)) * len(batch)
                history.append(total / len(images))
    finally:
        handle.remove()
        for module, mode in modes:
            module.training = mode
    return history


def linear_probe(model: nn.Module, head: str, images: torch.Tensor, labels: torch.Tensor, *,
                 layer: str = "avgpool", iterations: int = 200, weight_decay: float = 1e-4,
                 batch_size: int = 500) -> float:
    """Fit the linear layer ``head`` of ``model`` (named, e.g. ``"fc"``) on the frozen
    representation at ``layer`` of images (N, C, H, W) and labels (N,): full-batch L-BFGS on the
    cross-entropy plus ``weight_decay``·|W|², on standardised features (the standardisation is
    folded into the head). The rest of the model is not changed; it is left in eval mode, the mode
    its features were read in. Returns the training accuracy.
    """
    fc = resolve_layer(model, head)
    if not isinstance(fc, nn.Linear):
        raise ValueError(f"head {head!r} must name an nn.Linear, got {type(fc).__name__}")
    check_images(images, "images")
    check_labels(labels, images, fc.out_features)
    read = Representation(model, layer)
    features = torch.cat([read(images[i:i + batch_size])[layer].flatten(1) for i in range(0, len(images), batch_size)])
    if features.shape[1] != fc.in_features:
        raise ValueError(f"layer {layer!r} gives {features.shape[1]} features per image but head {head!r} reads "
                         f"{fc.in_features}: name the layer the head reads")
    model.eval()
    mean, std = features.mean(0), features.std(0).clamp_min(1e-6)
    features = (features - mean) / std
    weight = torch.zeros_like(fc.weight, requires_grad=True)
    bias = torch.zeros_like(fc.bias, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(features @ weight.T + bias, labels) + weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        fc.weight.copy_(weight / std)
        fc.bias.copy_(bias - (weight / std) @ mean)
        return ((features @ weight.T + bias).argmax(1) == labels).float().mean().item()
