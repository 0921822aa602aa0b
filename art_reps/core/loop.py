"""The one optimisation loop behind every method: an objective, a geometry, a parameterisation
and a start.

Each step is exactly one forward (stopped at the deepest layer needed) and one backward; one
more forward without gradient scores the final iterate. Per-sample best iterates are kept.
The settings are checked once (:class:`Settings`), before any work; :func:`optimize` is the
public entry, :func:`run_loop` what the method runner calls chunk by chunk.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from typing_extensions import Unpack

from . import memory_layout
from .checks import check_count, check_images, check_positive
from .geometry import Geometry, make_geometry
from .objectives import Objective
from .options import LOOP, OPTIMIZERS, LoopOptions, loop_defaults
from .parameterisations import make_param
from .representation import Representation
from .model_state import with_autograd
from .rng import Draws
from .runtime import Runtime, bar
from .schedules import make_schedule

PROGRESS_DELAY = 3.0  # seconds before a progress bar appears (short runs stay silent)


@dataclass
class Result:
    """images: (N, C, H, W) in [0, 1] on the caller's device; losses: (N,) the loss of each
    returned image; history: (T, N) the loss at every step (restarts one after another);
    transparency: (N, 1, H, W) in [0, 1] where the parameterisation gives one (``param='maco'``)."""

    images: torch.Tensor
    losses: torch.Tensor
    history: torch.Tensor
    transparency: torch.Tensor | None = None


@dataclass(frozen=True)
class Settings:
    """A run's loop settings, checked once: see :func:`optimize` for each."""

    steps: int
    step_size: float
    geometry: Geometry
    optimizer: str
    schedule: Callable[[int], float]
    param: Any  # a parameterisation (art_reps.core.parameterisations)
    restarts: int
    random_start: bool | torch.Tensor
    use_best: bool
    tol: float | None
    seed: int
    first: int = 0

    @classmethod
    def make(cls, **options: Unpack[LoopOptions]) -> "Settings":
        """Check ``options`` (:data:`art_reps.core.options.LOOP`: the defaults and meanings) once."""
        unknown = sorted(set(options) - set(LOOP))
        if unknown:
            raise TypeError(f"unknown loop option(s) {unknown}; the loop takes {sorted(LOOP)}")
        o = {**loop_defaults(), **options}
        steps, step_size, geometry, eps, box = o["steps"], o["step_size"], o["geometry"], o["eps"], o["box"]
        optimizer, schedule, param, restarts = o["optimizer"], o["schedule"], o["param"], o["restarts"]
        random_start, use_best, tol, seed, first = o["random_start"], o["use_best"], o["tol"], o["seed"], o["first"]
        steps = check_count(steps, "steps")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
        geometry = make_geometry(geometry, eps, box)
        param = make_param(param)
        projectable = getattr(param, "projectable", True)
        if not projectable and type(geometry) is not Geometry:
            raise ValueError(f"param={param!r} cannot be kept inside geometry {geometry!r}"
                             f": use geometry='unconstrained'")
        restarts = check_count(restarts, "restarts", minimum=0, maximum=1000)
        if restarts and type(geometry) is Geometry and projectable:
            raise ValueError("restarts need a random element: use geometry 'l2' or 'linf', or param='fourier'")
        if not (isinstance(random_start, bool) or isinstance(random_start, torch.Tensor)):
            raise TypeError(f"random_start must be True, False or images (N, C, H, W), got {random_start!r}")
        if random_start is True and type(geometry) is Geometry:
            raise ValueError("random_start=True draws a point of the ball: use geometry 'l2' or 'linf'")
        if isinstance(random_start, torch.Tensor):
            check_images(random_start, "random_start")
        if not isinstance(use_best, bool):
            raise TypeError(f"use_best must be True or False, got {use_best!r}")
        if tol is not None:
            tol = float(check_positive(tol, "tol"))
        seed = check_count(seed, "seed", minimum=0, maximum=2 ** 64 - 1)
        first = check_count(first, "first", minimum=0)
        return cls(steps, check_positive(step_size, "step_size"), geometry, optimizer, make_schedule(schedule, steps),
                   param, restarts, random_start, use_best, tol, seed, first)

    def draws(self, part: slice, stream: str = "loop") -> Draws:
        """The random draws of the call's samples ``part``: those of samples ``first + i`` of the run."""
        return Draws(self.seed, range(self.first + part.start, self.first + part.stop), stream)

    def take(self, part: slice) -> "Settings":
        """The settings of samples ``part`` (a per-sample ``random_start`` is sliced)."""
        if not isinstance(self.random_start, torch.Tensor):
            return self
        return Settings(**{**self.__dict__, "random_start": self.random_start[part]})


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


def _prefers_channels_last(read, objective: Objective, model, centre: torch.Tensor, runtime: Runtime) -> bool:
    """Time one step of ``objective`` in both layouts (:func:`memory_layout.prefers_channels_last`)."""
    def step(x):
        x = x.clone().requires_grad_(True)
        with runtime.amp(x.device):
            loss = objective(read(x), x).float().sum()
        torch.autograd.grad(loss, x)

    key = (tuple(sorted(objective.layers)), str(runtime.autocast))
    return memory_layout.prefers_channels_last(model, step, centre, key=key)


def progress_bar(total: int, runtime: Runtime, desc: str):
    """A bar that appears only on runs longer than ``PROGRESS_DELAY`` seconds (``runtime.progress``)."""
    return bar(total=total, show=runtime.progress, desc=desc, leave=False, delay=PROGRESS_DELAY)


def run_loop(rep: Representation, objective: Objective, start: torch.Tensor, settings: Settings, runtime: Runtime,
             draws: Draws, bar=None) -> Result:
    """Minimise ``objective`` from ``start`` (N, C, H, W) in [0, 1], checked, on the model's
    device; ``draws`` gives the samples' random draws (:mod:`.rng`); ``bar`` counts the steps."""
    centre = start.detach().to(rep.device, rep.dtype)
    channels_last, compile = runtime.channels_last, runtime.compile
    geometry, param, projectable = settings.geometry, settings.param, getattr(settings.param, "projectable", True)
    amp = runtime.amp(rep.device)
    best_images = centre.clone()
    best_losses = torch.full((centre.shape[0],), float("inf"), device=rep.device)
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

    def first_iterate(restart: int) -> torch.Tensor:
        """Restart 0: the start, or the given or a random point of the ball; later restarts: random."""
        if isinstance(settings.random_start, torch.Tensor) and not restart:
            return geometry.project(settings.random_start.detach().to(centre), centre)
        if settings.random_start is True or restart:
            if not projectable:
                return param.random_image(centre.shape, draws, centre)
            return geometry.random_start(centre, draws)
        return geometry.project(centre, centre) if projectable else centre

    with rep.attached() as read:
        if channels_last == "auto":
            channels_last = centre.dim() == 4 and rep.device.type == "cuda" and _prefers_channels_last(
                read, objective, rep.model, centre, runtime)
        if channels_last and centre.dim() == 4:
            centre = centre.contiguous(memory_format=torch.channels_last)

        def score(image):
            return objective(read(image), image)

        if compile:
            score = torch.compile(score, **(compile if isinstance(compile, dict) else {}))
        for restart in range(settings.restarts + 1):
            leaf, to_image = param(first_iterate(restart))
            leaf.requires_grad_(True)
            updater = _Updater(settings.optimizer, leaf, geometry)
            for t in range(settings.steps):
                image, loss = evaluate(score, leaf, to_image)
                (grad,) = torch.autograd.grad(loss.sum(), leaf)
                loss = loss.detach()
                history.append(loss)
                if settings.use_best:
                    keep_better(image.detach(), loss)
                updater.step(grad, settings.step_size * settings.schedule(t))
                if projectable:
                    with torch.no_grad():
                        leaf.copy_(geometry.project(leaf, centre))
                if bar is not None:
                    bar.update(1)
                if settings.tol is not None and t % 10 == 9 and bool((best_losses <= settings.tol).all()):
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


@with_autograd
def optimize(model: torch.nn.Module | Representation, objective: Objective, start: torch.Tensor, *,
             runtime: Runtime | None = None, **options: Unpack[LoopOptions]) -> Result:
    """Minimise ``objective`` over images, from ``start`` (N, C, H, W) in [0, 1].

    ``model``: an ``nn.Module``, or a :class:`Representation` of one that carries how it is read
    (``mean``, ``std``, ``transform``, ``fake_relu``, ``keep_mode``); the objective's layers are
    read either way.

    ``options``: the loop options, each with its default and meaning in
    :data:`art_reps.core.options.LOOP` (``steps``, ``step_size``, ``geometry`` with ``eps``,
    ``optimizer``, ``schedule``, ``param``, ``restarts``, ``random_start``, ``seed``, ...); random draws
    come from one generator per sample, so they are the same on any device and in any batch.
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
    settings = Settings.make(**options)
    runtime = runtime or Runtime()
    if not isinstance(runtime, Runtime):
        raise TypeError(f"runtime must be an art_reps.core.Runtime, got {type(runtime).__name__}")
    layers = sorted(objective.layers)
    rep = model.reading(layers) if isinstance(model, Representation) else Representation(model, layers)
    check_images(start, "start", channels=rep.channels)
    if isinstance(settings.random_start, torch.Tensor) and settings.random_start.shape != start.shape:
        raise ValueError(f"random_start must have the shape of start {tuple(start.shape)}, "
                         f"got {tuple(settings.random_start.shape)}")
    with progress_bar(settings.steps * (settings.restarts + 1), runtime, "optimising") as bar:
        return run_loop(rep, objective, start, settings, runtime, settings.draws(slice(0, len(start))), bar)


@with_autograd
def input_gradient(rep: Representation, objective: Objective, inputs: torch.Tensor) -> torch.Tensor:
    """Gradient of ``-objective`` (what the objective rewards) with respect to ``inputs`` (N, C, H, W),
    unclipped (noise tunnels and normalised data leave [0, 1]); on the inputs' device and dtype.

    Examples:
        >>> from art_reps.zoo.architectures import SmallResNet
        >>> from art_reps.core import objectives as O
        >>> rep = Representation(SmallResNet(), "")
        >>> input_gradient(rep, O.channel("", 3), torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 3, 32, 32])
    """
    x = inputs.detach().to(rep.device, rep.dtype).requires_grad_(True)
    with rep.attached() as read, torch.enable_grad():
        (grad,) = torch.autograd.grad(-objective(read(x), x).sum(), x)
    return grad.to(inputs.device, inputs.dtype)
