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

from ..core.checks import check_count, check_images, check_nonnegative, check_positive, resolve_layer
from ..core import Representation, bar, make_geometry, pgd_step_size
from ..core.objectives import Objective
from ..metrics.recognition import activations
from .adversarial import seeded_global_rng, attack, check_labels, eps_schedule, one_cycle_sgd

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


def augmented_twice(augment=None):
    """SimCLR's views: ``views(images (N, C, H, W)) -> (augment(images), augment(images))``, two
    independent draws of ``augment`` (default :func:`simclr_augment`).

    Examples:
        >>> v1, v2 = augmented_twice()(torch.rand(2, 3, 32, 32))
        >>> v1.shape == v2.shape and bool((v1 != v2).any())
        True
    """
    augment = augment or simclr_augment()
    return lambda images: (augment(images), augment(images))


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


def train_contrastive(model: nn.Module, data: torch.Tensor, *, views=None, layer: str = "avgpool", epochs: int = 15,
                      eps: float = 0.0, norm: str = "l2", attack_steps: int = 3, eps_warmup: int = 0,
                      projection: int = 32,
                      temperature: float = TEMPERATURE, batch_size: int = 256, lr: float = 0.1,
                      weight_decay: float = 5e-4, seed: int = 0, after_epoch=None,
                      progress: bool = True) -> list[float]:
    """Train ``model``'s representation at ``layer`` in place with NT-Xent on two views of each
    sample, through a 2-layer projection head that is then dropped (SGD-Nesterov, one-cycle lr).
    ``views(batch) -> (view_1, view_2)`` makes the pair from a batch of ``data`` (N, ...); by
    default ``data`` are images (N, C, H, W) in [0, 1] and the views two SimCLR augmentations
    (:func:`augmented_twice`); :func:`art_reps.data.views.digit_views` draws each digit twice on
    different backgrounds instead. ``eps > 0``: the first view is attacked (PGD-``attack_steps``,
    step 2.5·eps/steps, random start, in eval mode; ``eps_warmup`` epochs of growing radius, as in
    :func:`~art_reps.train.adversarial.eps_schedule`). ``after_epoch(epoch)`` (1-based) is called
    after each epoch, e.g. to record a probe's curve. Returns the per-epoch mean loss.
    Give the model a classifier afterwards with :func:`linear_probe`.

    Examples:
        >>> from art_reps.zoo.architectures import SmallResNet
        >>> net = SmallResNet(width=8)
        >>> len(train_contrastive(net, torch.rand(16, 3, 32, 32), epochs=1, batch_size=8, progress=False))
        1
    """
    if views is None:
        check_images(data, "data")
        views = augmented_twice()
    elif not callable(views):
        raise TypeError(f"views must be a callable batch -> (view_1, view_2), got {type(views).__name__}")
    if not isinstance(data, torch.Tensor) or data.ndim == 0 or len(data) < 2:
        raise ValueError(f"data must be a tensor of at least 2 samples, got {getattr(data, 'shape', type(data))}")
    check_count(epochs, "epochs")
    check_count(batch_size, "batch_size", minimum=2)
    check_count(attack_steps, "attack_steps")
    eps = check_nonnegative(eps, "eps")
    radii = eps_schedule(eps, epochs, eps_warmup)
    temperature = check_positive(temperature, "temperature")
    resolve_layer(model, layer)
    lr, weight_decay = check_positive(lr, "lr"), check_nonnegative(weight_decay, "weight_decay")
    device = next(model.parameters()).device
    generator = torch.Generator(device).manual_seed(seed)
    if eps > 0:
        make_geometry(norm, eps)  # a bad norm is refused before any work
    with seeded_global_rng(seed, device):  # the head's initial weights come from the seed, not the caller's RNG
        width = Representation(model, layer)(_pair(views, data[:2], device)[0])[layer][0].numel()
        head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, projection)).to(device)
    captured: dict[str, torch.Tensor] = {}
    handle = resolve_layer(model, layer).register_forward_hook(lambda m, i, o: captured.__setitem__("z", o))

    def embed(x):
        model(x.contiguous(memory_format=torch.channels_last))
        return head(captured.pop("z").flatten(1))

    step = one_cycle_sgd(list(model.parameters()) + list(head.parameters()), lr=lr, weight_decay=weight_decay,
                         epochs=epochs, steps_per_epoch=math.ceil(len(data) / batch_size))
    history = []
    modes = [(m, m.training) for m in model.modules()]
    try:
        with seeded_global_rng(seed, device):  # the views draw from torch's global generator
            for epoch, radius in enumerate(bar(radii, desc="epochs", show=progress), 1):
                geometry = make_geometry(norm, radius) if radius > 0 else None
                order = torch.randperm(len(data), generator=generator, device=device).to(data.device)
                total = 0.0
                for i in range(0, len(data), batch_size):
                    batch = data[order[i:i + batch_size]]
                    if len(batch) < 2:
                        continue
                    view_1, view_2 = _pair(views, batch, device)
                    if geometry is not None:
                        model.eval()
                        with torch.no_grad():
                            others = embed(view_2)
                        objective = _info_nce_against(layer, head, others, temperature)
                        view_1 = attack(model, objective, view_1, geometry=geometry, steps=attack_steps,
                                        step_size=pgd_step_size(radius, attack_steps), generator=generator)
                    model.train()
                    total += step(nt_xent(embed(view_1), embed(view_2), temperature)) * len(batch)
                history.append(total / len(data))
                if after_epoch is not None:
                    after_epoch(epoch)
    finally:
        handle.remove()
        for module, mode in modes:
            module.training = mode
    return history


def _pair(views, batch: torch.Tensor, device) -> tuple[torch.Tensor, torch.Tensor]:
    pair = views(batch)
    if not (isinstance(pair, tuple) and len(pair) == 2):
        raise TypeError(f"views(batch) must return a pair (view_1, view_2) of image batches, got {type(pair).__name__}")
    for i, view in enumerate(pair):
        check_images(view, f"views(batch)[{i}]")
        if len(view) != len(batch):
            raise ValueError(f"views(batch)[{i}] has {len(view)} images for a batch of {len(batch)}: views must give "
                             "one view of each image (the contrastive pairs are matched by position)")
    if pair[0].shape != pair[1].shape:
        raise ValueError(f"views(batch) gave views of shapes {tuple(pair[0].shape)} and {tuple(pair[1].shape)}: "
                         "both views must have one shape")
    return pair[0].to(device), pair[1].to(device)


def _features(model: nn.Module, images: torch.Tensor, layer: str, batch_size: int) -> torch.Tensor:
    return activations(model, images, layer=layer, batch_size=batch_size).flatten(1)


def _fit_linear(features: torch.Tensor, labels: torch.Tensor, classes: int, iterations: int,
                weight_decay: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of a linear classifier of raw ``features`` (N, D): full-batch L-BFGS on the
    cross-entropy plus ``weight_decay``·|W|² over standardised features, folded back."""
    mean, std = features.mean(0), features.std(0).clamp_min(1e-6)
    standard = (features - mean) / std
    weight = torch.zeros(classes, features.shape[1], device=features.device, requires_grad=True)
    bias = torch.zeros(classes, device=features.device, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(standard @ weight.T + bias, labels) + weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return weight / std, bias - (weight / std) @ mean


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
    features = _features(model, images, layer, batch_size)
    if features.shape[1] != fc.in_features:
        raise ValueError(f"layer {layer!r} gives {features.shape[1]} features per image but head {head!r} reads "
                         f"{fc.in_features}: name the layer the head reads")
    model.eval()
    weight, bias = _fit_linear(features, labels, fc.out_features, iterations, weight_decay)
    with torch.no_grad():
        fc.weight.copy_(weight)
        fc.bias.copy_(bias)
        return ((features @ weight.T + bias).argmax(1) == labels).float().mean().item()


def probe_accuracy(model: nn.Module, train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor],
                   *, layer: str = "avgpool", iterations: int = 200, weight_decay: float = 1e-4,
                   batch_size: int = 500) -> float:
    """How well a linear read-out of ``model``'s frozen representation at ``layer`` predicts a
    property: fitted as :func:`linear_probe` fits a head on ``train`` = (images (N, C, H, W),
    labels (N,)), scored on ``test``. The model is not changed (its mode is restored). Ask it of the
    digit and of the background behind it to see which one a representation learned.

    Examples:
        >>> from art_reps.zoo.architectures import SmallResNet
        >>> x, y = torch.rand(20, 3, 32, 32), torch.arange(20) % 2
        >>> 0.0 <= probe_accuracy(SmallResNet(width=8), (x, y), (x, y)) <= 1.0
        True
    """
    for name, (images, labels) in (("train", train), ("test", test)):
        check_images(images, f"{name} images")
        check_labels(labels, images, None)
    resolve_layer(model, layer)
    mode = model.training
    model.eval()
    try:
        features = _features(model, train[0], layer, batch_size)
        weight, bias = _fit_linear(features, train[1], int(max(train[1].max(), test[1].max())) + 1, iterations,
                                   weight_decay)
        scores = _features(model, test[0], layer, batch_size) @ weight.T + bias
    finally:
        model.train(mode)
    return (scores.argmax(1) == test[1]).float().mean().item()
