"""(Low-eps) adversarial training and robust evaluation of classifiers on [0, 1] images."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..core.checks import check_count, check_images, check_nonnegative
from ..core.geometry import Geometry, make_geometry
from ..core.objectives import Objective
from ..core.optimize import optimize
from ..core.state import frozen


def pgd(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, geometry: Geometry,
        steps: int, step_size: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Untargeted PGD on the cross-entropy, from a random start in ``geometry``, run by the core's
    one loop (:func:`art_reps.core.optimize`, last iterate).

    images: (N, C, H, W) in [0, 1]; labels: (N,). Returns adversarial images of the same shape.
    The model runs in eval mode and comes back as it was.

    Examples:
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
        >>> x = torch.rand(4, 3, 2, 2)
        >>> adv = pgd(net, x, torch.zeros(4, dtype=torch.long), geometry=make_geometry("l2", 0.5), steps=3, step_size=0.25)
        >>> bool(((adv - x).flatten(1).norm(dim=1) <= 0.5 + 1e-5).all())
        True
    """
    ascent = Objective(lambda acts, x: -F.cross_entropy(acts[""], labels, reduction="none"), [""], "-cross_entropy")
    return attack(model, ascent, images, geometry=geometry, steps=steps, step_size=step_size, generator=generator)


def attack(model: nn.Module, objective: Objective, images: torch.Tensor, *, geometry: Geometry, steps: int,
           step_size: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``steps`` normalised steps minimising ``objective`` inside ``geometry`` around ``images``,
    from a random start drawn with ``generator``: the last iterate, detached (any training attack)."""
    start = geometry.random_start(images, generator)
    return optimize(model, objective, images, steps=steps, step_size=step_size, geometry=geometry,
                    random_start=start, use_best=False).images


@torch.no_grad()
def _predict(model, images, batch_size):
    return torch.cat([model(images[i:i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, eps: float | None = None,
             norm: str = "l2", steps: int = 20, restarts: int = 1, batch_size: int = 250, seed: int = 0) -> float:
    """Clean accuracy (``eps=None``), or accuracy under PGD-``steps`` at ``eps`` (step 2.5·eps/steps,
    random start) with ``restarts`` runs, where an image counts as broken if any iterate of any run
    is misclassified (the best iterate per image)."""
    check_count(restarts, "restarts")
    with frozen(model):
        if eps is None:
            return (_predict(model, images, batch_size) == labels).float().mean().item()
        generator = torch.Generator(images.device).manual_seed(seed)
        geometry = make_geometry(norm, eps)
        robust = torch.ones(len(images), dtype=torch.bool, device=images.device)
        for i in range(0, len(images), batch_size):
            x, y = images[i:i + batch_size], labels[i:i + batch_size]
            for _ in range(restarts):
                adv = geometry.random_start(x, generator)
                for t in range(steps + 1):
                    adv.requires_grad_(True)
                    logits = model(adv)
                    robust[i:i + batch_size] &= logits.argmax(1) == y
                    if t == steps:
                        break
                    (grad,) = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), adv)
                    adv = geometry.project(adv.detach() + 2.5 * eps / steps * geometry.normalize(grad), x)
        return robust.float().mean().item()


def autoattack_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, eps: float,
                        norm: str = "l2", batch_size: int = 250, seed: int = 0) -> float:
    """Accuracy under torchattacks' AutoAttack (standard version: APGD-CE, APGD-T, FAB-T, Square)."""
    import torchattacks

    with frozen(model):
        attack = torchattacks.AutoAttack(model, norm={"l2": "L2", "linf": "Linf"}[norm], eps=eps, n_classes=10,
                                         seed=seed)
        correct = 0
        for i in range(0, len(images), batch_size):
            x, y = images[i:i + batch_size], labels[i:i + batch_size]
            correct += (_predict(model, attack(x, y), batch_size) == y).sum().item()
        return correct / len(images)


def check_labels(labels, images: torch.Tensor) -> None:
    """A clear error unless ``labels`` is a tensor of one label per image of ``images`` (N, ...)."""
    if not isinstance(labels, torch.Tensor) or labels.shape != images.shape[:1]:
        raise ValueError(f"labels must be a tensor of one label per image ({images.shape[0]}), got "
                         f"{tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__}")


def one_cycle_sgd(parameters, *, lr: float, weight_decay: float, epochs: int, steps_per_epoch: int):
    """The recipes' optimiser: SGD-Nesterov (momentum 0.9) with a one-cycle lr peaking at ``lr``.
    Returns ``step(loss) -> float``: backward, one optimiser and schedule step, the loss's value."""
    optimizer = torch.optim.SGD(parameters, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=epochs, steps_per_epoch=steps_per_epoch)

    def step(loss: torch.Tensor) -> float:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        return loss.item()

    return step


def train_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 12,
                     eps: float = 0.0, norm: str = "l2", attack_steps: int = 5, noise_std: float = 0.0,
                     batch_size: int = 128, lr: float = 0.1, weight_decay: float = 5e-4, seed: int = 0,
                     progress: bool = True) -> list[float]:
    """Train ``model`` in place (SGD-Nesterov, one-cycle lr); adversarially when ``eps > 0``.

    Attacks: PGD-``attack_steps`` in ``norm`` at ``eps``, step 2.5·eps/steps, random start,
    in eval mode. ``noise_std`` adds Gaussian noise augmentation. Returns per-epoch mean loss.
    """
    check_images(images, "images")
    check_labels(labels, images)
    check_count(epochs, "epochs")
    check_count(batch_size, "batch_size")
    check_count(attack_steps, "attack_steps")
    eps, noise_std = check_nonnegative(eps, "eps"), check_nonnegative(noise_std, "noise_std")
    torch.manual_seed(seed)
    generator = torch.Generator(images.device).manual_seed(seed)
    geometry = make_geometry(norm, eps) if eps > 0 else None
    step = one_cycle_sgd(model.parameters(), lr=lr, weight_decay=weight_decay, epochs=epochs,
                         steps_per_epoch=math.ceil(len(images) / batch_size))
    history = []
    for epoch in tqdm(range(epochs), desc="epochs", disable=not progress):
        model.train()
        order = torch.randperm(len(images), generator=generator, device=images.device)
        total = 0.0
        for i in range(0, len(images), batch_size):
            x, y = images[order[i:i + batch_size]], labels[order[i:i + batch_size]]
            if noise_std > 0:
                x = (x + noise_std * torch.randn(x.shape, generator=generator, device=x.device)).clamp(0, 1)
            if geometry is not None:
                x = pgd(model, x, y, geometry=geometry, steps=attack_steps,
                        step_size=2.5 * eps / attack_steps, generator=generator)
            loss = F.cross_entropy(model(x.contiguous(memory_format=torch.channels_last)), y)
            total += step(loss) * len(y)
        history.append(total / len(images))
    model.eval()
    return history
