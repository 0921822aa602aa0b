"""(Low-eps) adversarial training and robust evaluation of classifiers on [0, 1] images.

Every attack here runs through the core's one loop (:func:`art_reps.core.optimize`): the
training attacks take its last iterate, the robust evaluation its best iterate over restarts.
"""
from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..core import Geometry, Runtime, bar, frozen, make_geometry, optimize, pgd_step_size
from ..core import checks
from ..core.checks import check_count, check_images, check_nonnegative, check_positive
from ..core.objectives import Objective
from ..extras import missing_extra

_QUIET = Runtime(progress=False)
BROKEN = 1e4  # added to the loss of a correctly classified iterate: misclassified iterates rank first


def pgd(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, geometry: Geometry,
        steps: int, step_size: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Untargeted PGD on the cross-entropy, from a random start in ``geometry``, run by the core's
    one loop (:func:`art_reps.core.optimize`, last iterate).

    images: (N, C, H, W) in [0, 1]; labels: (N,). Returns adversarial images of the same shape.
    The model runs in eval mode and comes back as it was.

    Examples:
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
        >>> x = torch.rand(4, 3, 2, 2)
        >>> adv = pgd(net, x, torch.zeros(4, dtype=torch.long), geometry=make_geometry("l2", 0.5),
        ...           steps=3, step_size=0.25)
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
                    random_start=start, use_best=False, runtime=_QUIET).images


@torch.no_grad()
def _predict(model, images, batch_size):
    return torch.cat([model(images[i:i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])


def _misclassified_first(labels: torch.Tensor) -> Objective:
    """Minus the cross-entropy (its gradient is PGD's), plus ``BROKEN`` where the iterate is still
    classified correctly: the loop's best iterate is misclassified if any iterate was."""
    def fn(acts, x):
        logits = acts[""].float()
        y = labels.to(logits.device)
        return -F.cross_entropy(logits, y, reduction="none") + BROKEN * (logits.argmax(1) == y).float()

    return Objective(fn, [""], "-cross_entropy, misclassified first")


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, eps: float | None = None,
             norm: str = "l2", steps: int = 20, restarts: int = 1, batch_size: int = 250, seed: int = 0) -> float:
    """Clean accuracy (``eps=None``), or accuracy under PGD-``steps`` at ``eps`` (normalised steps
    of 2.5·eps/steps on the cross-entropy, random start) with ``restarts`` runs, where an image
    counts as broken if any iterate of any run is misclassified (the loop's best iterate, ranked
    misclassified first). Random starts come from one generator per image seeded by ``seed``."""
    restarts = check_count(restarts, "restarts")
    check_labels(labels, images)
    with frozen(model):
        if eps is None:
            return (_predict(model, images, batch_size) == labels).float().mean().item()
        correct = 0
        for i in range(0, len(images), batch_size):
            x, y = images[i:i + batch_size], labels[i:i + batch_size]
            worst = optimize(model, _misclassified_first(y), x, geometry=norm, eps=eps, steps=steps,
                             step_size=pgd_step_size(eps, steps), random_start=True, restarts=restarts - 1,
                             seed=seed + i, runtime=_QUIET)
            correct += int((worst.losses >= BROKEN / 2).sum())
        return correct / len(images)


def autoattack_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, eps: float,
                        norm: str = "l2", batch_size: int = 250, seed: int = 0) -> float:
    """Accuracy under torchattacks' AutoAttack (standard version: APGD-CE, APGD-T, FAB-T, Square); needs
    the ``torchattacks`` extra."""
    try:
        import torchattacks
    except ImportError as error:
        raise missing_extra(error, "torchattacks", "autoattack_accuracy") from error

    with frozen(model):
        attack = torchattacks.AutoAttack(model, norm={"l2": "L2", "linf": "Linf"}[norm], eps=eps, n_classes=10,
                                         seed=seed)
        correct = 0
        for i in range(0, len(images), batch_size):
            x, y = images[i:i + batch_size], labels[i:i + batch_size]
            correct += (_predict(model, attack(x, y), batch_size) == y).sum().item()
        return correct / len(images)


def check_labels(labels, images: torch.Tensor, classes: int | None = None) -> torch.Tensor:
    """A clear error unless ``labels`` is an integer tensor of one label per image of ``images``
    (N, ...), each in [0, ``classes``) when ``classes`` is given; returned unchanged."""
    if not isinstance(labels, torch.Tensor):
        raise ValueError(f"labels must be a tensor of one label per image ({images.shape[0]}), got "
                         f"{type(labels).__name__}")
    checks.check_labels(labels, images.shape[0], classes=classes)
    return labels


def output_classes(model: nn.Module, images: torch.Tensor) -> int:
    """How many classes ``model`` scores (the width of its output on one image), in eval mode."""
    with frozen(model), torch.no_grad():
        return model(images[:1]).shape[1]


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
                     eps: float = 0.0, norm: str = "l2", attack_steps: int = 5, eps_warmup: int = 0,
                     noise_std: float = 0.0, batch_size: int = 128, lr: float = 0.1, weight_decay: float = 5e-4,
                     seed: int = 0, progress: bool = True) -> list[float]:
    """Train ``model`` in place (SGD-Nesterov, one-cycle lr); adversarially when ``eps > 0``.

    Attacks: PGD-``attack_steps`` in ``norm`` at ``eps``, step 2.5·eps/steps, random start,
    in eval mode; with ``eps_warmup`` = k the radius of epoch e (from 0) is eps·min(1, (e+1)/(k+1)),
    so that a large eps trains rather than collapses. ``noise_std`` adds Gaussian noise
    augmentation. Returns per-epoch mean loss.
    Every draw comes from the recipe's own generator seeded by ``seed`` (the caller's global torch
    RNG is left as it was), and the model comes back in the modes the caller gave it.
    """
    check_images(images, "images")
    check_labels(labels, images, output_classes(model, images))
    check_count(epochs, "epochs")
    check_count(batch_size, "batch_size")
    check_count(attack_steps, "attack_steps")
    eps, noise_std = check_nonnegative(eps, "eps"), check_nonnegative(noise_std, "noise_std")
    radii = eps_schedule(eps, epochs, eps_warmup)
    lr, weight_decay = check_positive(lr, "lr"), check_nonnegative(weight_decay, "weight_decay")
    if eps > 0:
        make_geometry(norm, eps)  # a bad norm is refused before any work
    generator = torch.Generator(images.device).manual_seed(seed)
    step = one_cycle_sgd(model.parameters(), lr=lr, weight_decay=weight_decay, epochs=epochs,
                         steps_per_epoch=math.ceil(len(images) / batch_size))
    modes = [(m, m.training) for m in model.modules()]
    history = []
    try:
        with seeded_global_rng(seed, images.device):  # layers that draw globally (dropout) draw from the seed
            for radius in bar(radii, desc="epochs", show=progress):
                geometry = make_geometry(norm, radius) if radius > 0 else None
                model.train()
                order = torch.randperm(len(images), generator=generator, device=images.device)
                total = 0.0
                for i in range(0, len(images), batch_size):
                    x, y = images[order[i:i + batch_size]], labels[order[i:i + batch_size]]
                    if noise_std > 0:
                        x = (x + noise_std * torch.randn(x.shape, generator=generator, device=x.device)).clamp(0, 1)
                    if geometry is not None:
                        x = pgd(model, x, y, geometry=geometry, steps=attack_steps,
                                step_size=pgd_step_size(radius, attack_steps), generator=generator)
                    loss = F.cross_entropy(model(x.contiguous(memory_format=torch.channels_last)), y)
                    total += step(loss) * len(y)
                history.append(total / len(images))
    finally:
        for module, mode in modes:
            module.training = mode
    return history


def eps_schedule(eps: float, epochs: int, eps_warmup: int = 0) -> list[float]:
    """The attack radius of each epoch: eps·min(1, (e+1)/(k+1)) for epoch e (from 0) with
    ``eps_warmup`` = k, so that a large eps trains rather than collapses.

    Examples:
        >>> eps_schedule(1.0, 4, eps_warmup=1)
        [0.5, 1.0, 1.0, 1.0]
    """
    if isinstance(eps_warmup, bool) or not isinstance(eps_warmup, int) or not 0 <= eps_warmup < epochs:
        raise ValueError(f"eps_warmup must be an int of epochs in [0, epochs={epochs}), got {eps_warmup!r}")
    return [eps * min(1.0, (e + 1) / (eps_warmup + 1)) for e in range(epochs)]


@contextlib.contextmanager
def seeded_global_rng(seed: int, device: torch.device):
    """Inside: torch's global generators seeded by ``seed``; after: the caller's states again."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
