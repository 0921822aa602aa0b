"""The public functions: each is an objective, a start and a geometry handed to :func:`optimize`."""
from __future__ import annotations

import numbers

import torch

from . import objectives as O, rng
from .checks import check_count, check_images, check_nonnegative, check_positive, check_same_batch
from .chunks import in_chunks, resolve_batch_size, take
from .optimize import Result, optimize
from .representation import Representation, representation_options
from .runtime import Runtime
from .state import with_autograd

RUNTIME = ("autocast", "channels_last", "compile", "progress")  # flat options that go to the Runtime
STARTS = {
    "noise": lambda shape, g: (0.5 + torch.randn(shape, generator=g) / 20).clamp(0, 1),
    "super-noise": lambda shape, g: torch.randn(shape, generator=g).clamp(0, 1),
    "light-noise": lambda shape, g: (0.01 * torch.randn(shape, generator=g)).clamp(0, 1),
    "uniform": lambda shape, g: torch.rand(shape, generator=g),
    "gray": lambda shape, g: torch.full(shape, 0.5),
    "white": lambda shape, g: torch.ones(shape),
    "black": lambda shape, g: torch.zeros(shape),
}


def make_start(start, shape, *, device=None, seed: int = 0, dtype=None) -> torch.Tensor:
    """A start image batch: a tensor (N or 1, C, H, W) used as given, or a kind from ``STARTS``
    ('noise' is Engstrom's ``randn/20 + 0.5``; Nanda's seeds 'super-noise', 'light-noise', ...),
    drawn in float32 by a CPU generator (the same start on every device) and returned on ``device``
    in ``dtype`` (default float32)."""
    if isinstance(start, torch.Tensor):
        check_images(start, "start")
        return start.expand(shape[0], *start.shape[1:]) if start.shape[0] == 1 else start
    if start not in STARTS:
        raise ValueError(f"start must be an image tensor or one of {sorted(STARTS)}, got {start!r}")
    return STARTS[start](tuple(shape), rng.generator(seed)).to(device or "cpu", dtype or torch.float32)


def _representation(model, layer, options) -> Representation:
    """The representation that ``optimize`` will see, built from the same ``options``."""
    return Representation(model, layer, **representation_options(options))


def _optimize(model, objective, start, **options) -> Result:
    """:func:`optimize` with the public functions' flat options: those that say how the model is
    read (mean, std, transform, fake_relu, keep_mode) become its :class:`Representation`, those
    that say how the run executes (autocast, channels_last, compile, progress) its :class:`Runtime`."""
    reading = representation_options(options)
    running = {k: options[k] for k in RUNTIME if k in options}
    rest = {k: v for k, v in options.items() if k not in reading and k not in running}
    layers = sorted(objective.layers)
    rep = model.reading(layers) if isinstance(model, Representation) else Representation(model, layers, **reading)
    return optimize(rep, objective, start, runtime=Runtime(**running), **rest)


@with_autograd
def invert(model, targets: torch.Tensor, *, layer: str, start="noise", steps: int = 400, step_size: float = 0.05,
           regularizer: O.Objective | None = None, seed: int = 0, batch_size=None, **options) -> Result:
    """Representation inversion: images whose ``layer`` representation matches that of ``targets``.

    Minimises ``||R(x) - R(x_t)|| / ||R(x_t)||`` (+ ``regularizer``) from ``start``.
    targets: (N, C, H, W) in [0, 1]; start: a kind (default Engstrom's noise) or (N, C, H, W).
    Further ``options`` go to :func:`optimize` (geometry, eps, optimizer, schedule, mean, std, ...).
    ``batch_size`` (an int, or ``'auto'`` for what fits the device's memory) runs the samples in
    chunks; ``regularizer`` must then be per-sample without state of its own (TV, norms, blur).

    Examples:
        >>> import art_reps
        >>> model = art_reps.load_model("l2_eps1")
        >>> x = art_reps.data.digits_on_textures("test").images[:4]
        >>> res = art_reps.invert(model, x, layer="avgpool", steps=10, batch_size=2)
        >>> res.images.shape, res.losses.shape
        (torch.Size([4, 3, 32, 32]), torch.Size([4]))
    """
    check_images(targets, "targets")
    start = make_start(start, targets.shape, device=targets.device, seed=seed, dtype=targets.dtype)
    check_same_batch(targets, start, "targets", "start")
    n = targets.shape[0]
    chunk = resolve_batch_size(batch_size, n, model, [layer], targets.shape[1:], options)
    if chunk < n:
        return in_chunks(n, chunk, lambda s: invert(model, targets[s], layer=layer, start=start[s], steps=steps,
                                                   step_size=step_size, regularizer=regularizer, seed=seed, **options))
    target_reps = _representation(model, layer, options)(targets, name="targets")[layer]
    objective = O.inversion(layer, target_reps)
    if regularizer is not None:
        objective = objective + regularizer
    return _optimize(model, objective, start, steps=steps, step_size=step_size, seed=seed, **options)


def _feature_objective(layer, feature, kind, name: str = "feature", n: int | None = None):
    """The objective for ``feature`` of ``layer``: an int (or one-element sequence) for every image,
    one int per image (``n`` of them, when ``n`` is given), a (c, y, x) tuple with ``kind='neuron'``,
    or a direction tensor with ``kind='direction'``."""
    if kind == "direction":
        if not isinstance(feature, torch.Tensor):
            raise TypeError(f"kind='direction' needs {name} as a tensor (the direction)")
        return O.direction(layer, feature)
    if kind not in ("channel", "neuron"):
        raise ValueError(f"kind must be 'channel', 'neuron' or 'direction', got {kind!r}")
    make = O.channel if kind == "channel" else O.neuron
    if isinstance(feature, numbers.Integral) and not isinstance(feature, bool):
        return make(layer, int(feature))
    if kind == "neuron" and isinstance(feature, tuple):
        if not all(isinstance(f, numbers.Integral) and not isinstance(f, bool) for f in feature):
            raise TypeError(f"a neuron {name} tuple holds ints (c, y, x), got {feature!r}")
        return O.neuron(layer, tuple(int(f) for f in feature))
    if isinstance(feature, (list, tuple, torch.Tensor)) or hasattr(feature, "__array__"):
        index = torch.as_tensor(feature)
        if index.dim() == 2 and index.shape[1] == 1:  # a column of labels
            index = index[:, 0]
        if index.dim() == 0 and not index.is_floating_point() and index.dtype != torch.bool:
            return make(layer, int(index))
        if index.dim() != 1 or index.is_floating_point() or index.dtype == torch.bool or len(index) == 0:
            raise TypeError(f"{name} must be an int or one int per image (a list or 1-d integer tensor), "
                            f"got {feature!r}")
        if len(index) == 1:  # one label for every image
            return make(layer, int(index[0]))
        if n is not None and len(index) != n:
            raise ValueError(f"{name} has {len(index)} labels for {n} images: give one per image or an int")
        return make(layer, index.long())
    raise TypeError(f"{name} must be an int, one int per image, or a (c, y, x) tuple with kind='neuron', "
                    f"got {feature!r}")


@with_autograd
def visualize(model, *, layer: str, feature, kind: str = "channel", start="noise", n: int = 1,
              size=(3, 32, 32), steps: int = 200, step_size: float = 0.1, regularizer: O.Objective | None = None,
              closeness: float = 0.0, seed: int = 0, batch_size=None, **options) -> Result:
    """Feature visualisation: images that maximise a unit, channel or direction of ``layer``.

    feature: int (channel or flattened unit), a list of channels (one per image), a (c, y, x)
    tuple with ``kind='neuron'``, or a direction tensor with ``kind='direction'``. start: a kind
    (``n`` images of ``size``) or (N, C, H, W) images. ``param='fourier'`` or ``'maco'`` (Fel et
    al.; its ``Result.transparency`` shows where the feature reads the image) via options.
    ``closeness`` > 0 with start images is Hamblin et al.'s feature accentuation: the feature is
    raised while ``closeness`` times the mean squared distance to the start keeps each image near
    its own. ``batch_size`` as in :func:`invert`.

    Examples:
        >>> import art_reps
        >>> res = art_reps.visualize(art_reps.load_model("l2_eps1"), layer="avgpool", feature=[0, 1, 2], steps=10)
        >>> res.images.shape
        torch.Size([3, 3, 32, 32])
    """
    objective = _feature_objective(layer, feature, kind, n=start.shape[0] if isinstance(start, torch.Tensor) else None)
    closeness = check_nonnegative(closeness, "closeness")
    if closeness and not isinstance(start, torch.Tensor):
        raise ValueError(f"closeness={closeness} keeps results near their start images: pass start= images "
                         f"(N, C, H, W), not {start!r}")
    if kind == "channel" and not isinstance(feature, numbers.Integral):
        feature = torch.as_tensor(feature, dtype=torch.long)
        if feature.dim() == 1 and not isinstance(start, torch.Tensor):
            n = len(feature)
    check_count(n, "n")
    shape = start.shape if isinstance(start, torch.Tensor) else (n, *size)
    start = make_start(start, shape, seed=seed)
    chunk = resolve_batch_size(batch_size, start.shape[0], model, [layer], start.shape[1:], options)
    if chunk < start.shape[0]:
        return in_chunks(start.shape[0], chunk, lambda s: visualize(
            model, layer=layer, feature=take(feature, s) if kind == "channel" else feature, kind=kind,
            start=start[s], steps=steps, step_size=step_size, regularizer=regularizer, closeness=closeness, seed=seed,
            **options))
    if regularizer is not None:
        objective = objective + regularizer
    if closeness:
        objective = objective + closeness * O.closeness(start)
    return _optimize(model, objective, start, steps=steps, step_size=step_size, seed=seed, **options)


@with_autograd
def manipulate(model, images: torch.Tensor, *, layer: str, feature, cap=1.0, eps: float = 2.0,
               steps: int = 200, step_size: float = 0.05, seed: int = 0, batch_size=None, **options) -> Result:
    """Feature addition: raise unit ``feature`` of ``layer`` (flattened index) up to ``cap`` within
    an L2 ball of radius ``eps`` around ``images`` (N, C, H, W) (Engstrom et al.'s ``min(R_i - cap, 0)``).
    feature and cap: one for all images, or (N,) tensors (one per image). ``batch_size`` as in :func:`invert`.

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test").images[:2]
        >>> res = art_reps.manipulate(art_reps.load_model("l2_eps1"), x, layer="avgpool", feature=7, steps=10)
        >>> bool(((res.images - x).flatten(1).norm(dim=1) <= 2.0 + 1e-4).all())
        True
    """
    check_images(images, "images")
    feature, cap = (v.item() if isinstance(v, torch.Tensor) and v.dim() == 0 else v for v in (feature, cap))
    for value, name in ((feature, "feature"), (cap, "cap")):
        if isinstance(value, torch.Tensor) and value.shape != (images.shape[0],):
            raise ValueError(f"{name} must be a number or a ({images.shape[0]},) tensor, got shape {tuple(value.shape)}")
    if isinstance(feature, numbers.Integral) and not isinstance(feature, bool):
        feature = int(feature)
    elif not isinstance(feature, torch.Tensor) or feature.is_floating_point() or feature.dtype == torch.bool:
        raise TypeError(f"feature must be an int or a (N,) integer tensor of unit indices, got {feature!r}")
    n = images.shape[0]
    chunk = resolve_batch_size(batch_size, n, model, [layer], images.shape[1:], options)
    if chunk < n:
        return in_chunks(n, chunk, lambda s: manipulate(model, images[s], layer=layer, feature=take(feature, s),
                                                        cap=take(cap, s), eps=eps, steps=steps, step_size=step_size,
                                                        seed=seed, **options))
    options.setdefault("geometry", "l2")
    return _optimize(model, O.feature_addition(layer, feature, cap), images, steps=steps, step_size=step_size,
                    eps=check_positive(eps, "eps"), seed=seed, **options)


@with_autograd
def interpolate(model, a: torch.Tensor, b: torch.Tensor, *, layer: str, n: int = 8, start="lerp", steps: int = 400,
                step_size: float = 0.05, seed: int = 0, **options) -> Result:
    """Interpolation in representation space: invert ``(1-l) R(a) + l R(b)`` for ``n`` values of
    ``l`` in [0, 1]. a, b: (N, C, H, W). start: ``'lerp'`` (Engstrom's pixel interpolation
    ``(1-l) a + l b``), or a kind from ``STARTS`` such as ``'noise'`` (each point made from scratch).
    Returns images (N, n, C, H, W), losses (N, n), history (T, N * n).

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test").images
        >>> res = art_reps.interpolate(art_reps.load_model("l2_eps1"), x[:1], x[1:2], layer="avgpool", n=4, steps=5)
        >>> res.images.shape
        torch.Size([1, 4, 3, 32, 32])
    """
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    n = check_count(n, "n", minimum=2)
    reps = _representation(model, layer, options)
    ra, rb = reps(a, name="a")[layer].flatten(1), reps(b, name="b")[layer].flatten(1)
    lam = torch.linspace(0, 1, n, device=a.device).view(1, n, 1, 1, 1)
    lam_r = lam.view(1, n, 1).to(ra.device)
    targets = ((1 - lam_r) * ra[:, None] + lam_r * rb[:, None]).flatten(0, 1)
    if isinstance(start, str) and start == "lerp":
        start = ((1 - lam) * a[:, None] + lam * b[:, None]).flatten(0, 1)
    else:
        start = make_start(start, targets.shape[:1] + a.shape[1:], device=a.device, seed=seed, dtype=a.dtype)
    res = _optimize(model, O.inversion(layer, targets), start, steps=steps, step_size=step_size, seed=seed, **options)
    shape = (a.shape[0], n)
    return Result(res.images.view(*shape, *a.shape[1:]), res.losses.view(shape), res.history)


@with_autograd
def sensitivity(model, images: torch.Tensor, target, *, layer: str = "", kind: str = "class",
                **representation_options) -> torch.Tensor:
    """Gradient of a class logit (``layer=''``, target: int or (N,) labels) or of a feature
    (``kind`` 'channel' / 'neuron' / 'direction' at ``layer``) with respect to the input;
    ``mean``/``std``/``fake_relu``/``transform`` as in :class:`Representation`.
    images: (N, C, H, W) in [0, 1]. Returns (N, C, H, W) on the images' device.

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test")
        >>> art_reps.sensitivity(art_reps.load_model("l2_eps1"), x.images[:3], x.labels[:3]).shape
        torch.Size([3, 3, 32, 32])
    """
    rep = Representation(model, layer, **representation_options)
    check_images(images, "images", channels=rep.channels)
    objective = _feature_objective(layer, target, "channel" if kind == "class" else kind, name="target",
                                   n=images.shape[0])
    return input_gradient(rep, objective, images)


@with_autograd
def input_gradient(rep: Representation, objective: O.Objective, inputs: torch.Tensor) -> torch.Tensor:
    """Gradient of ``-objective`` (what the objective rewards) w.r.t. ``inputs``, unvalidated: for
    adapters whose inputs may leave [0, 1] (noise tunnels, normalised data). Same device as inputs."""
    x = inputs.detach().to(rep.device, rep.dtype).requires_grad_(True)
    with rep.attached() as read, torch.enable_grad():
        (grad,) = torch.autograd.grad(-objective(read(x), x).sum(), x)
    return grad.to(inputs.device, inputs.dtype)
