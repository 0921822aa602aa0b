"""The one optimisation loop behind inversion, IRIs, visualisation, manipulation and metamers.

Each step is exactly one forward (stopped at the deepest layer needed) and one backward; one
more forward without gradient scores the final iterate. Per-sample best iterates are kept.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from . import layout, rng
from .checks import check_count, check_images, check_positive
from .geometry import Geometry, make_geometry
from .objectives import Objective
from .param import make_param
from .representation import Representation
from .runtime import Runtime
from .state import with_autograd

OPTIMIZERS = ("sgd", "momentum", "adam")


@dataclass
class Result:
    """images: (N, C, H, W) in [0, 1] on the caller's device; losses: (N,) the loss of each
    returned image; history: (T, N) the loss at every step (restarts one after another);
    transparency: (N, 1, H, W) in [0, 1] where the parameterisation gives one (``param='maco'``)."""

    images: torch.Tensor
    losses: torch.Tensor
    history: torch.Tensor
    transparency: torch.Tensor | None = None


def constant() -> Callable[[int], float]:
    return lambda t: 1.0


def step_halving(every: int) -> Callable[[int], float]:
    """Halve the step size every ``every`` steps (Feather et al.'s metamer schedule)."""
    check_count(every, "every")
    return lambda t: 0.5 ** (t // every)


def piecewise(*segments: tuple[int, float]) -> Callable[[int], float]:
    """``piecewise((800, 1), (500, 0.1), ...)``: multiplier 1 for 800 steps, then 0.1 ... (Mahendran)."""
    bounds, values, total = [], [], 0
    for length, value in segments:
        total += check_count(length, "segment length")
        bounds.append(total)
        values.append(float(value))

    def schedule(t):
        return next((v for b, v in zip(bounds, values) if t < b), values[-1])

    return schedule


def linear_decay(steps: int, final: float = 0.1) -> Callable[[int], float]:
    """From 1 down to ``final`` over ``steps`` steps."""
    return lambda t: 1.0 + (final - 1.0) * min(t / max(steps - 1, 1), 1.0)


def _probe_layout(rep: Representation, objective: Objective, x0: torch.Tensor, runtime: Runtime) -> bool:
    """Time one step of ``objective`` in both layouts (:func:`layout.prefers_channels_last`)."""
    def step(x):
        x = x.clone().requires_grad_(True)
        with runtime.amp(x.device):
            loss = objective(read(x), x).float().sum()
        torch.autograd.grad(loss, x)

    with rep.attached() as read:
        return layout.prefers_channels_last(rep.model, step, x0, key=(tuple(sorted(objective.layers)), str(runtime.autocast)))


class _Updater:
    """Moves the leaf by one step of ``optimizer`` ('sgd' and 'momentum' take steps of length
    ``lr`` in the geometry's norm; 'adam' uses ``lr`` as Adam's learning rate)."""

    def __init__(self, optimizer: str, leaf: torch.Tensor, geometry: Geometry):
        self.kind, self.leaf, self.geometry = optimizer, leaf, geometry
        self.velocity = torch.zeros_like(leaf) if optimizer == "momentum" else None
        self.adam = torch.optim.Adam([leaf], lr=1.0) if optimizer == "adam" else None

    @torch.no_grad()
    def step(self, grad: torch.Tensor, lr: float) -> None:
        if self.adam is not None:
            self.adam.param_groups[0]["lr"] = lr
            self.leaf.grad = grad
            self.adam.step()
            self.leaf.grad = None
            return
        direction = self.geometry.normalize(grad)
        if self.velocity is not None:
            direction = self.velocity.mul_(0.9).add_(direction)
        self.leaf.sub_(lr * direction)


@with_autograd
def optimize(model: torch.nn.Module | Representation, objective: Objective, start: torch.Tensor, *,
             steps: int = 200, step_size: float = 0.05, geometry: str | Geometry = "unconstrained",
             eps: float | None = None, optimizer: str = "sgd", schedule: Callable[[int], float] | None = None,
             param="pixel", restarts: int = 0, random_start: bool | torch.Tensor = False, use_best: bool = True,
             tol: float | None = None, seed: int = 0, runtime: Runtime | None = None) -> Result:
    """Minimise ``objective`` over images, from ``start`` (N, C, H, W) in [0, 1].

    ``model``: an ``nn.Module``, or a :class:`Representation` of one that carries how it is read
    (``mean``, ``std``, ``transform``, ``fake_relu``, ``keep_mode``); the objective's layers are
    read either way.

    ``geometry`` ('unconstrained', 'l2', 'linf' with ``eps``) bounds the images around ``start``;
    ``step_size`` is a step's length in that geometry's norm (Adam: its learning rate), times
    ``schedule(t)``. ``param`` 'pixel', 'fourier' or 'maco'. ``restarts`` extra runs from random starts
    in the ball; ``random_start`` True begins at a random point of the ball, a tensor (N, C, H, W)
    at that point (projected into the ball: adapters draw it for a whole batch at once). ``tol``
    stops once every sample's best loss is below it (checked every 10 steps).
    ``runtime`` (:class:`Runtime`): mixed precision, memory layout, compilation, a progress bar.

    Examples:
        >>> from art_reps.zoo.architectures import SmallResNet
        >>> from art_reps.core import objectives as O
        >>> net = SmallResNet()
        >>> res = optimize(net, O.channel("layer3", 0), torch.rand(2, 3, 32, 32), steps=5)
        >>> res.images.shape, res.losses.shape, res.history.shape
        (torch.Size([2, 3, 32, 32]), torch.Size([2]), torch.Size([5, 2]))
        >>> rep = Representation(net, "layer3", mean=[0.5] * 3, std=[0.25] * 3)  # how to read it, once
        >>> optimize(rep, O.channel("layer3", 0), torch.rand(2, 3, 32, 32), steps=5).images.shape
        torch.Size([2, 3, 32, 32])
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be an art_reps Objective, got {type(objective).__name__}")
    if not objective.layers:
        raise ValueError("objective reads no layer of the model: add a representation term")
    steps = check_count(steps, "steps")
    restarts = check_count(restarts, "restarts", minimum=0, maximum=1000)
    step_size = check_positive(step_size, "step_size")
    if tol is not None:
        tol = float(tol)
    runtime = runtime or Runtime()
    if not isinstance(runtime, Runtime):
        raise TypeError(f"runtime must be an art_reps.core.Runtime, got {type(runtime).__name__}")
    channels_last, compile = runtime.channels_last, runtime.compile
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    geometry = make_geometry(geometry, eps)
    param = make_param(param)
    if not getattr(param, "projectable", True) and type(geometry) is not Geometry:
        raise ValueError(f"param={param!r} cannot be kept inside geometry {geometry!r}: use geometry='unconstrained'")
    if restarts and type(geometry) is Geometry and getattr(param, "projectable", True):
        raise ValueError("restarts need a random element: use geometry 'l2' or 'linf', or param='fourier'")
    schedule = schedule or constant()

    layers = sorted(objective.layers)
    rep = model.reading(layers) if isinstance(model, Representation) else Representation(model, layers)
    check_images(start, "start", channels=rep.channels)
    x0 = start.detach().to(rep.device, rep.dtype)
    if channels_last == "auto":
        channels_last = x0.dim() == 4 and rep.device.type == "cuda" and _probe_layout(rep, objective, x0, runtime)
    if channels_last and x0.dim() == 4:
        x0 = x0.contiguous(memory_format=torch.channels_last)
    generator = rng.generator(seed)
    amp = runtime.amp(rep.device)
    best_images = x0.clone()
    best_losses = torch.full((x0.shape[0],), float("inf"), device=rep.device)
    history = []

    @torch.no_grad()
    def keep_better(images, losses):
        better = losses < best_losses
        best_losses.copy_(torch.where(better, losses, best_losses))
        best_images.copy_(torch.where(better.view(-1, 1, 1, 1), images, best_images))

    def evaluate(score, leaf, to_image):
        image = to_image(leaf)
        if compile:  # CUDA graphs reuse their output buffers at each replay: start a step, copy the loss
            torch.compiler.cudagraph_mark_step_begin()
        with amp:
            loss = score(image)
        return image, loss.float().clone() if compile else loss.float()

    bar = tqdm(total=steps * (restarts + 1), disable=not runtime.progress, desc="optimising", leave=False)
    with rep.attached() as read, bar:
        def score(image):
            return objective(read(image), image)

        if compile:
            score = torch.compile(score, **(compile if isinstance(compile, dict) else {}))
        for restart in range(restarts + 1):
            if isinstance(random_start, torch.Tensor) and not restart:
                begin = geometry.project(random_start.detach().to(x0), x0)
            else:
                begin = geometry.random_start(x0, generator) if (random_start is True or restart) else x0
            leaf, to_image = param(begin, generator)
            leaf.requires_grad_(True)
            updater = _Updater(optimizer, leaf, geometry)
            for t in range(steps):
                image, loss = evaluate(score, leaf, to_image)
                (grad,) = torch.autograd.grad(loss.sum(), leaf)
                loss = loss.detach()
                history.append(loss)
                if use_best:
                    keep_better(image.detach(), loss)
                updater.step(grad, step_size * schedule(t))
                if getattr(param, "projectable", True):
                    with torch.no_grad():
                        leaf.copy_(geometry.project(leaf, x0))
                bar.update(1)
                if tol is not None and t % 10 == 9 and bool((best_losses <= tol).all()):
                    break
            with torch.no_grad():
                image, loss = evaluate(score, leaf, to_image)
            keep_better(image, loss)
    device = start.device
    transparency = getattr(to_image, "transparency", None)
    if transparency is not None:
        transparency = (transparency / transparency.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1, 1)).to(device)
    return Result(best_images.to(device, start.dtype).contiguous(), best_losses.to(device),
                  torch.stack(history).to(device), transparency)
