"""ART evasion attacks on representations, over any PyTorch estimator (e.g. ``PyTorchClassifier``).

Numpy in and out in the dtype of ``x``; the estimator's preprocessing, ``clip_values`` (also per
channel or per pixel), device and ``channels_first`` are respected; ``eps`` and ``step_size`` are in
the estimator's input units. Layers are named as in ``model.named_modules()`` (``"layer3.1"``),
which ART's own ``FeatureAdversaries`` cannot do. Each class runs one method of
:mod:`art_reps.core.methods` with that method's recipe for every parameter left at ``None``; random
starts are fresh on every call, drawn from torch's global generator (so ``torch.manual_seed``
before a call repeats it) unless ``seed=`` is given (then from a generator seeded once).

Examples:
    >>> from art.estimators.classification import PyTorchClassifier
    >>> import art_reps, numpy as np, torch
    >>> model = art_reps.load_model("l2_eps1")
    >>> clf = PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), (3, 32, 32), 10, clip_values=(0, 1))
    >>> x = art_reps.data.digits_on_textures("test").images[:4].numpy()
    >>> adv = RepresentationPGD(clf, layer="avgpool", eps=0.5, max_iter=5, verbose=False).generate(x)
    >>> adv.shape, adv.dtype
    ((4, 3, 32, 32), dtype('float32'))
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

from .extras import missing_extra

try:
    from art.attacks.attack import EvasionAttack
    from art.estimators.estimator import BaseEstimator, NeuralNetworkMixin
except ImportError as error:
    raise missing_extra(error, "art") from error

from .core import (ATTACK, INVERSION, IRI_LOSSES, IRIS, MANIPULATION, VISUALIZATION, attack, invert, iris,
                   make_param, manipulate, visualize)
from .core.checks import check_nonnegative, resolve_layer
from .core.objectives import feature_index

NORMS = {2: "l2", "2": "l2", np.inf: "linf", "inf": "linf", "unconstrained": "unconstrained"}
_SEED_RANGE = 2 ** 62


class _NumpyPreprocessing(torch.autograd.Function):
    """An estimator's numpy preprocessing forward, ``_apply_preprocessing_gradient`` (each defence's
    ``estimate_gradient``) backward."""

    @staticmethod
    def forward(ctx, x, estimator):
        ctx.estimator, ctx.x = estimator, x.detach().cpu().numpy()
        out, _ = estimator._apply_preprocessing(ctx.x, y=None, fit=False)
        return torch.as_tensor(np.asarray(out), device=x.device, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        with torch.enable_grad():  # some defences estimate their gradient with torch autograd
            g = ctx.estimator._apply_preprocessing_gradient(ctx.x, grad.detach().cpu().numpy())
        return torch.as_tensor(np.asarray(g), device=grad.device, dtype=grad.dtype), None


def _is_number(value) -> bool:
    """A number (Python, numpy, or a one-element tensor), not a string or a bool."""
    if isinstance(value, (str, bytes, bool)):
        return False
    try:
        float(value)
    except (TypeError, ValueError, RuntimeError):
        return False
    return True


class _CoreAttack(EvasionAttack):
    """Shared ART plumbing: parameter checks, numpy <-> core conversion, seeds. ``method`` is the
    core method the class runs; a parameter left at ``None`` takes that method's recipe."""

    attack_params = EvasionAttack.attack_params + [
        "layer", "norm", "eps", "step_size", "max_iter", "optimizer", "schedule", "fake_relu", "batch_size", "verbose",
        "seed",
    ]
    _estimator_requirements = (BaseEstimator, NeuralNetworkMixin)
    method = INVERSION
    _default_norm = "unconstrained"

    def __init__(self, estimator, *, layer: str, norm=None, eps: float | None = None, step_size: float | None = None,
                 max_iter: int | None = None, optimizer: str | None = None, schedule=None, fake_relu=None,
                 batch_size: int = 32, verbose: bool = True, seed: int | None = None):
        super().__init__(estimator=estimator)
        self.layer, self.norm, self.eps = layer, self._default_norm if norm is None else norm, eps
        self.step_size, self.max_iter, self.optimizer, self.schedule = step_size, max_iter, optimizer, schedule
        self.fake_relu, self.batch_size, self.verbose, self.seed = fake_relu, batch_size, verbose, seed
        self._check_params()
        self._seeds = None if seed is None else torch.Generator().manual_seed(int(seed))

    # -- parameters ------------------------------------------------------------------------
    def _check_params(self) -> None:
        """ART's convention: every bad parameter is a ``ValueError``."""
        try:
            self._check_own_params()
            self.method.bind(self.estimator.model, **self._options(), **self._method_arguments())
        except TypeError as e:
            raise ValueError(str(e)) from e

    def _check_own_params(self) -> None:
        model = getattr(self.estimator, "model", None)
        if not isinstance(model, torch.nn.Module):
            raise ValueError("The estimator must wrap a torch.nn.Module (e.g. art's PyTorchClassifier).")
        if not isinstance(self.layer, str):
            raise ValueError(f"layer must be a str naming a submodule (e.g. 'layer3.1'), got {self.layer!r}.")
        resolve_layer(model, self.layer)
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral)
                                      or self.seed < 0):
            raise ValueError(f"seed must be None or an int >= 0, got {self.seed!r}.")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of 2, np.inf or 'unconstrained', got {self.norm!r}.")
        if NORMS[self.norm] == "unconstrained" and self.eps is not None:
            raise ValueError("eps is only meaningful with norm 2 or np.inf.")
        for name in ("eps", "step_size"):
            value = getattr(self, name)
            if value is not None and not _is_number(value):
                raise ValueError(f"{name} must be None (the recipe's) or a number > 0 in the estimator's input units "
                                 f"(its clip_values range), got {value!r}.")
        for name in ("max_iter", "batch_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0):
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if not isinstance(self.verbose, bool):
            raise ValueError("The argument `verbose` has to be of type bool.")

    def _method_arguments(self) -> dict:
        """The core method's own arguments that the parameters fix (checked by ``bind``)."""
        return {"layer": self.layer}

    @staticmethod
    def _check_kwargs(kwargs: dict, allowed=()) -> None:
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise ValueError(f"generate() does not take {unknown} (ART's `mask` is not supported: the whole image "
                             f"may change); it takes x, y{''.join(', ' + a for a in allowed)}.")

    # -- conversions -----------------------------------------------------------------------
    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The estimator's clip values broadcast to its input shape (``(0, 1)`` without any)."""
        clip = self.estimator.clip_values
        shape = tuple(self.estimator.input_shape)
        low, high = (0.0, 1.0) if clip is None else clip
        return (np.broadcast_to(np.asarray(low, dtype=np.float64), shape),
                np.broadcast_to(np.asarray(high, dtype=np.float64), shape))

    @property
    def _range(self) -> tuple[float, float]:
        """One affine map for every pixel, so a ball keeps its shape: the widest clip range."""
        low, high = self._bounds()
        return float(low.min()), float(high.max())

    def _box(self):
        """The per-channel (or per-pixel) clip values in core units, or ``None`` where uniform."""
        low, high = self._bounds()
        if np.all(low == low.min()) and np.all(high == high.max()):
            return None
        lo, hi = self._range
        to_core = [torch.as_tensor((b - lo) / (hi - lo), dtype=torch.float32)[None] for b in (low, high)]
        if not self.estimator.channels_first:
            to_core = [b.permute(0, 3, 1, 2) for b in to_core]
        return tuple(b.to(self.estimator.device) for b in to_core)

    def _to_core(self, x, name: str = "x") -> torch.Tensor:
        """(N, *input_shape) array in estimator units -> (N, C, H, W) tensor in [0, 1] on its device."""
        if not isinstance(x, np.ndarray):
            raise ValueError(f"{name} must be a numpy array, got {type(x).__name__}.")
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"{name} must have a floating dtype, got {x.dtype}.")
        if x.ndim < 2 or x.shape[0] == 0 or tuple(x.shape[1:]) != tuple(self.estimator.input_shape):
            raise ValueError(f"{name} must have shape (N, *{tuple(self.estimator.input_shape)}) with N > 0, "
                             f"got {x.shape}.")
        low, high = self._bounds()
        if not np.isfinite(x).all() or (x < low - 1e-6 * (high - low)).any() or (x > high + 1e-6 * (high - low)).any():
            raise ValueError(f"{name} must be finite and inside the estimator's clip_values.")
        lo, hi = self._range
        t = torch.as_tensor((x.astype(np.float32) - lo) / (hi - lo), device=self.estimator.device).clamp(0, 1)
        return t if self.estimator.channels_first else t.permute(0, 3, 1, 2)

    def _from_core(self, t: torch.Tensor, like: np.ndarray) -> np.ndarray:
        lo, hi = self._range
        t = t if self.estimator.channels_first else t.permute(0, 2, 3, 1)
        return np.clip(lo + (hi - lo) * t.detach().cpu().numpy().astype(np.float64), *self._bounds()).astype(like.dtype)

    def _transform(self, x01: torch.Tensor) -> torch.Tensor:
        """Core images in [0, 1] -> what the estimator's model takes (clip range, layout, preprocessing).
        Numpy preprocessing defences (SpatialSmoothing, JpegCompression, ...) run in numpy, with
        ART's own gradient estimates (BPDA) on the way back, as ART's numpy attacks use them."""
        lo, hi = self._range
        x = lo + (hi - lo) * x01
        if not self.estimator.channels_first:
            x = x.permute(0, 2, 3, 1)
        if getattr(self.estimator, "all_framework_preprocessing", True):
            x, _ = self.estimator._apply_preprocessing(x, y=None, fit=False, no_grad=False)
            return x
        return _NumpyPreprocessing.apply(x, self.estimator)

    def _options(self) -> dict:
        """The core options these parameters set; ``None`` leaves the method's recipe."""
        lo, hi = self._range
        geometry = NORMS[self.norm]
        options = {"transform": self._transform, "batch_size": self.batch_size, "progress": self.verbose,
                   "box": self._box()}
        if geometry != "unconstrained" or self.method.defaults().get("geometry", "unconstrained") != "unconstrained":
            options["geometry"] = geometry
        named = {"eps": self.eps, "step_size": self.step_size, "steps": self.max_iter, "optimizer": self.optimizer,
                 "schedule": self.schedule, "fake_relu": self.fake_relu}
        for key in ("eps", "step_size"):
            if named[key] is not None and isinstance(named[key], numbers.Real) and not isinstance(named[key], bool):
                named[key] = named[key] / (hi - lo)
        return {**options, **{k: v for k, v in named.items() if v is not None}}

    def _call_seed(self) -> int:
        """This call's seed: from torch's global generator, or the attack's own when ``seed`` was given."""
        return int(torch.randint(_SEED_RANGE, (1,), generator=self._seeds))

    def _run(self, function, *args, **arguments) -> torch.Tensor:
        return function(self.estimator.model, *args, layer=self.layer, seed=self._call_seed(), **self._options(),
                        **arguments).images


class RepresentationInversion(_CoreAttack):
    """Images whose ``layer`` representation matches that of ``targets`` (or given representations),
    starting from ``x``; by default :func:`art_reps.invert`'s recipe. ``y`` may hold labels: it is ignored.

    ``generate(x, y=None, *, targets=None, target_representations=None)``.
    """

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ("targets", "target_representations"))
        start = self._to_core(x)
        targets, reps = kwargs.get("targets"), kwargs.get("target_representations")
        if (targets is None) == (reps is None):
            raise ValueError("Pass exactly one of targets= (images) or target_representations=.")
        if targets is not None:
            targets = self._to_core(targets, "targets")
            if len(targets) != len(start):
                raise ValueError(f"targets must match x in batch size: {len(targets)} targets for {len(start)} inputs.")
            return self._from_core(self._run(invert, targets, start=start), x)
        reps = torch.as_tensor(np.asarray(reps, dtype=np.float32), device=self.estimator.device)
        if reps.dim() < 2 or len(reps) != len(start):
            raise ValueError(f"target_representations must be (N, ...) with N = {len(start)} (one per input), got "
                             f"shape {tuple(reps.shape)}.")
        return self._from_core(self._run(invert, start=start, representations=reps), x)


class IRIGenerator(_CoreAttack):
    """Identically represented inputs (Nanda et al.): from ``seeds`` (a kind such as 'super-noise',
    or images), inputs whose ``layer`` representation equals that of the targets ``x``, made with
    any loss of :mod:`art_reps.core.iri_losses` (``LOSSES``: 'regularizer-free', 'mahendran', Nanda's
    'freq*' human priors, 'adversarial' with ``distance``/``lam``/``reference``, 'feather').
    Each loss brings its own recipe (:func:`art_reps.iris`) for the parameters left at ``None``.

    ``generate(x, y=None, *, seeds=None)`` returns one IRI per target.
    """

    attack_params = _CoreAttack.attack_params + ["loss", "seed_kind", "distance", "lam", "reference"]
    LOSSES = IRI_LOSSES
    method = IRIS

    def __init__(self, estimator, *, layer: str, loss: str = "regularizer-free", seed_kind: str = "super-noise",
                 distance=None, lam="auto", reference: str = "target", **kwargs):
        self.loss, self.seed_kind = loss, seed_kind
        self.distance, self.lam, self.reference = distance, lam, reference
        super().__init__(estimator, layer=layer, **kwargs)

    def _check_own_params(self) -> None:
        super()._check_own_params()
        if self.loss not in self.LOSSES:
            raise ValueError(f"loss must be one of {self.LOSSES}, got {self.loss!r}.")
        if self.loss == "adversarial" and not callable(self.distance):
            raise ValueError("loss='adversarial' needs distance=, a function d(x, y) -> (N,) on images in [0, 1].")
        if self.reference not in ("target", "seed"):
            raise ValueError(f"reference must be 'target' or 'seed', got {self.reference!r}.")

    def _method_arguments(self) -> dict:
        return {"layer": self.layer, "loss": self.loss}

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ("seeds",))
        targets = self._to_core(x)
        seeds = kwargs.get("seeds")
        start = self.seed_kind if seeds is None else self._to_core(seeds, "seeds")
        if seeds is not None and len(start) != len(targets):
            raise ValueError(f"seeds must match x in batch size: {len(start)} seeds for {len(targets)} targets.")
        return self._from_core(self._run(iris, targets, loss=self.loss, start=start, distance=self.distance,
                                         lam=self.lam, reference=self.reference), x)


class FeatureVisualization(_CoreAttack):
    """Maximise a ``feature`` (channel, neuron or direction of ``layer``) starting from ``x``;
    ``param`` 'pixel', 'fourier' or 'maco' (Fel et al.: begins from ``x``'s phase, the magnitude
    fixed); ``closeness`` > 0 keeps each result near its ``x`` (Hamblin et al.'s feature
    accentuation). By default :func:`art_reps.visualize`'s recipe for the parameterisation."""

    attack_params = _CoreAttack.attack_params + ["feature", "kind", "param", "closeness"]
    method = VISUALIZATION

    def __init__(self, estimator, *, layer: str, feature, kind: str = "channel", param="pixel",
                 closeness: float = 0.0, **kwargs):
        self.feature, self.kind, self.param, self.closeness = feature, kind, param, closeness
        super().__init__(estimator, layer=layer, **kwargs)

    def _check_own_params(self) -> None:
        super()._check_own_params()
        feature_index(self.feature, self.kind)
        make_param(self.param)
        check_nonnegative(self.closeness, "closeness")

    def _method_arguments(self) -> dict:
        return {"layer": self.layer, "feature": self.feature, "param": self.param}

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ())
        return self._from_core(self._run(visualize, feature=self.feature, kind=self.kind, start=self._to_core(x),
                                         param=self.param, closeness=self.closeness), x)


class FeatureManipulation(_CoreAttack):
    """Feature addition: push unit ``feature`` of ``layer`` up to ``cap`` within an ``eps``-ball of
    ``x`` (norm 2 by default); by default :func:`art_reps.manipulate`'s recipe."""

    attack_params = _CoreAttack.attack_params + ["feature", "cap"]
    method = MANIPULATION
    _default_norm = 2

    def __init__(self, estimator, *, layer: str, feature: int, eps: float | None = None, cap: float = 1.0, **kwargs):
        self.feature, self.cap = feature, cap
        super().__init__(estimator, layer=layer, eps=eps, **kwargs)

    def _check_own_params(self) -> None:
        super()._check_own_params()
        if NORMS[self.norm] == "unconstrained":
            raise ValueError("FeatureManipulation needs norm 2 or np.inf: the feature is added within a ball.")
        if isinstance(self.feature, bool) or not isinstance(self.feature, numbers.Integral):
            raise ValueError(f"feature must be an int unit index, got {self.feature!r}.")
        if isinstance(self.cap, bool) or not isinstance(self.cap, numbers.Real):
            raise ValueError(f"cap must be a number, got {self.cap!r}.")

    def _method_arguments(self) -> dict:
        return {"layer": self.layer, "feature": self.feature}

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ())
        return self._from_core(self._run(manipulate, self._to_core(x), feature=int(self.feature),
                                         cap=float(self.cap)), x)


class RepresentationPGD(_CoreAttack):
    """Untargeted, label-free PGD on representations: maximise ``||R(x') - R(x)|| / ||R(x)||`` for
    ``x'`` in the ``eps``-ball (``norm`` 2 or np.inf) around ``x``, from a random start (fresh per
    call; the same whatever ``batch_size``). By default :func:`art_reps.attack`'s recipe (10 steps of
    2.5·eps/max_iter).

    ``y`` may hold labels (one-hot or indices, as ART's ``AdversarialTrainer`` passes) and is ignored.
    """

    attack_params = _CoreAttack.attack_params + ["random_start"]
    method = ATTACK
    _default_norm = 2

    def __init__(self, estimator, *, layer: str, eps: float = 0.5, norm=2, max_iter: int = 10,
                 random_start: bool = True, **kwargs):
        self.random_start = random_start
        super().__init__(estimator, layer=layer, eps=eps, norm=norm, max_iter=max_iter, **kwargs)

    def _check_own_params(self) -> None:
        super()._check_own_params()
        if NORMS[self.norm] == "unconstrained":
            raise ValueError("RepresentationPGD needs norm 2 or np.inf.")
        if self.random_start is not True:
            raise ValueError(f"random_start must be True, got {self.random_start!r}: at x' = x the representation "
                             "distance has zero gradient, so PGD without a random start never moves.")

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ())
        return self._from_core(self._run(attack, self._to_core(x)), x)
