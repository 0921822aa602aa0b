"""ART evasion attacks on representations, over any PyTorch estimator (e.g. ``PyTorchClassifier``).

Numpy in and out in the dtype of ``x``; the estimator's preprocessing, ``clip_values``, device and
``channels_first`` are respected; ``eps`` and ``step_size`` are in the estimator's input units.
Layers are named as in ``model.named_modules()`` (``"layer3.1"``), which ART's own
``FeatureAdversaries`` cannot do. Every algorithm lives in :mod:`art_reps.core`.

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
from art.attacks.attack import EvasionAttack
from art.estimators.estimator import BaseEstimator, NeuralNetworkMixin
from tqdm.auto import tqdm

from .core import IRI_LOSSES, iris, make_geometry, make_start, objectives as O
from .core.iris import recipe
from .core.checks import check_nonnegative, check_positive, resolve_layer
from .core.param import make_param
from .core.representation import Representation
from .core.tasks import _feature_objective, _optimize

NORMS = {2: "l2", "2": "l2", np.inf: "linf", "inf": "linf", "unconstrained": "unconstrained"}


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


class _CoreAttack(EvasionAttack):
    """Shared ART plumbing: parameter checks, numpy <-> core conversion, batching, progress."""

    attack_params = EvasionAttack.attack_params + [
        "layer", "norm", "eps", "step_size", "max_iter", "optimizer", "fake_relu", "batch_size", "verbose", "seed",
    ]
    _estimator_requirements = (BaseEstimator, NeuralNetworkMixin)
    _default_norm = "unconstrained"
    _default_step_size = False  # whether step_size=None means a default derived from eps

    def __init__(self, estimator, *, layer: str, norm=None, eps: float | None = None, step_size: float = 0.05,
                 max_iter: int = 200, optimizer: str = "sgd", fake_relu=False, batch_size: int = 32,
                 verbose: bool = True, seed: int = 0):
        super().__init__(estimator=estimator)
        self.layer, self.norm, self.eps = layer, self._default_norm if norm is None else norm, eps
        self.step_size, self.max_iter, self.optimizer = step_size, max_iter, optimizer
        self.fake_relu, self.batch_size, self.verbose, self.seed = fake_relu, batch_size, verbose, seed
        self._check_params()
        self._generator = torch.Generator().manual_seed(int(seed))  # random starts: fresh per call, seedable

    # -- parameters ------------------------------------------------------------------------
    def _check_params(self) -> None:
        model = getattr(self.estimator, "model", None)
        if not isinstance(model, torch.nn.Module):
            raise ValueError("The estimator must wrap a torch.nn.Module (e.g. art's PyTorchClassifier).")
        if not isinstance(self.layer, str):
            raise ValueError(f"layer must be a str naming a submodule (e.g. 'layer3.1'), got {self.layer!r}.")
        resolve_layer(model, self.layer)
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise ValueError(f"seed must be an int, got {self.seed!r}.")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of 2, np.inf or 'unconstrained', got {self.norm!r}.")
        if NORMS[self.norm] != "unconstrained":
            check_positive(self.eps, "eps")
        elif self.eps is not None:
            raise ValueError("eps is only meaningful with norm 2 or np.inf.")
        if self.step_size is not None or not self._default_step_size:
            check_positive(self.step_size, "step_size")
        for name in ("max_iter", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if not isinstance(self.verbose, bool):
            raise ValueError("The argument `verbose` has to be of type bool.")
        if self.optimizer not in ("sgd", "momentum", "adam"):
            raise ValueError(f"optimizer must be 'sgd', 'momentum' or 'adam', got {self.optimizer!r}.")

    @staticmethod
    def _check_kwargs(kwargs: dict, allowed=()) -> None:
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise ValueError(f"generate() does not take {unknown} (ART's `mask` is not supported: the whole image "
                             f"may change); it takes x, y{''.join(', ' + a for a in allowed)}.")

    # -- conversions -----------------------------------------------------------------------
    @property
    def _range(self) -> tuple[float, float]:
        clip = self.estimator.clip_values
        return (0.0, 1.0) if clip is None else (float(np.min(clip[0])), float(np.max(clip[1])))

    def _to_core(self, x, name: str = "x") -> torch.Tensor:
        """(N, *input_shape) array in estimator units -> (N, C, H, W) tensor in [0, 1] on its device."""
        if not isinstance(x, np.ndarray):
            raise ValueError(f"{name} must be a numpy array, got {type(x).__name__}.")
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"{name} must have a floating dtype, got {x.dtype}.")
        if x.ndim < 2 or x.shape[0] == 0 or tuple(x.shape[1:]) != tuple(self.estimator.input_shape):
            raise ValueError(f"{name} must have shape (N, *{tuple(self.estimator.input_shape)}) with N > 0, "
                             f"got {x.shape}.")
        lo, hi = self._range
        t = torch.as_tensor((x.astype(np.float32) - lo) / (hi - lo), device=self.estimator.device)
        if not np.isfinite(x).all() or t.min() < -1e-6 or t.max() > 1 + 1e-6:
            raise ValueError(f"{name} must be finite and inside clip_values {self._range}.")
        t = t.clamp(0, 1)
        return t if self.estimator.channels_first else t.permute(0, 3, 1, 2)

    def _from_core(self, t: torch.Tensor, like: np.ndarray) -> np.ndarray:
        lo, hi = self._range
        t = t if self.estimator.channels_first else t.permute(0, 2, 3, 1)
        return (lo + (hi - lo) * t.detach().cpu().numpy()).astype(like.dtype)

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

    def _core_options(self) -> dict:
        lo, hi = self._range
        geometry = NORMS[self.norm]
        return dict(geometry=geometry, eps=None if geometry == "unconstrained" else self.eps / (hi - lo),
                    step_size=self._step_size / (hi - lo), steps=self.max_iter, optimizer=self.optimizer,
                    fake_relu=self.fake_relu, transform=self._transform)

    @property
    def _step_size(self) -> float:
        return self.step_size

    def _representation(self, images: torch.Tensor) -> torch.Tensor:
        rep = Representation(self.estimator.model, self.layer, fake_relu=self.fake_relu, transform=self._transform)
        return torch.cat([rep(images[i:i + self.batch_size])[self.layer]
                          for i in range(0, len(images), self.batch_size)])

    def _optimize(self, objective_for, start: torch.Tensor, begin: torch.Tensor | None = None, **extra) -> torch.Tensor:
        """Run the core loop batch by batch; ``objective_for(slice)`` builds each batch's objective;
        ``begin`` (drawn for the whole of ``start`` at once, so batching cannot change it) is the first iterate."""
        options = {**self._core_options(), **extra}
        out = []
        for i in tqdm(range(0, len(start), self.batch_size), desc=type(self).__name__, disable=not self.verbose):
            batch = slice(i, i + self.batch_size)
            if begin is not None:
                options["random_start"] = begin[batch]
            out.append(_optimize(self.estimator.model, objective_for(batch), start[batch], seed=self.seed + i,
                                 **options).images)
        return torch.cat(out)


class RepresentationInversion(_CoreAttack):
    """Images whose ``layer`` representation matches that of ``targets`` (or given representations),
    starting from ``x``. ``y`` may hold labels: it is ignored.

    ``generate(x, y=None, *, targets=None, target_representations=None)``.
    """

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ("targets", "target_representations"))
        start = self._to_core(x)
        reps = self._target_representations(len(start), **kwargs)
        return self._invert(start, reps, x)

    def _invert(self, start: torch.Tensor, reps: torch.Tensor, like: np.ndarray) -> np.ndarray:
        return self._from_core(self._optimize(lambda b: O.inversion(self.layer, reps[b]), start), like)

    def _target_representations(self, n: int, targets=None, target_representations=None) -> torch.Tensor:
        if (targets is None) == (target_representations is None):
            raise ValueError("Pass exactly one of targets= (images) or target_representations=.")
        if targets is not None:
            reps = self._representation(self._to_core(targets, "targets"))
        else:
            reps = torch.as_tensor(np.asarray(target_representations, dtype=np.float32), device=self.estimator.device)
        if reps.shape[0] != n:
            raise ValueError(f"targets must match x in batch size: {reps.shape[0]} targets for {n} inputs.")
        return reps


class IRIGenerator(RepresentationInversion):
    """Identically represented inputs (Nanda et al.): from ``seeds`` (a kind such as 'super-noise',
    or images), inputs whose ``layer`` representation equals that of the targets ``x``, made with
    any loss of :mod:`art_reps.core.iris` (``LOSSES``: 'regularizer-free', 'mahendran', Nanda's
    'freq*' human priors, 'adversarial' with ``distance``/``lam``/``reference``, 'feather').
    Each loss brings its own schedule (and Mahendran's momentum, Feather's Adam).

    ``generate(x, y=None, *, seeds=None)`` returns one IRI per target.
    """

    attack_params = RepresentationInversion.attack_params + ["loss", "seed_kind", "distance", "lam", "reference"]
    LOSSES = IRI_LOSSES

    def __init__(self, estimator, *, layer: str, loss: str = "regularizer-free", seed_kind: str = "super-noise",
                 distance=None, lam="auto", reference: str = "target", **kwargs):
        self.loss, self.seed_kind = loss, seed_kind
        self.distance, self.lam, self.reference = distance, lam, reference
        own = recipe(loss, 1) if loss in IRI_LOSSES else {}  # the loss's step size and optimiser by default
        kwargs.setdefault("step_size", own.get("step_size", 0.05))
        kwargs.setdefault("optimizer", own.get("optimizer", "sgd"))
        super().__init__(estimator, layer=layer, **kwargs)

    def _check_params(self) -> None:
        super()._check_params()
        if self.loss not in self.LOSSES:
            raise ValueError(f"loss must be one of {self.LOSSES}, got {self.loss!r}.")
        if self.loss == "adversarial" and not callable(self.distance):
            raise ValueError("loss='adversarial' needs distance=, a function d(x, y) -> (N,) on images in [0, 1].")
        if self.reference not in ("target", "seed"):
            raise ValueError(f"reference must be 'target' or 'seed', got {self.reference!r}.")

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ("seeds",))
        targets = self._to_core(x)
        seeds = kwargs.get("seeds")
        if seeds is None:
            start = make_start(self.seed_kind, targets.shape, device=targets.device, seed=self.seed)
        else:
            start = self._to_core(seeds, "seeds")
            if len(start) != len(targets):
                raise ValueError(f"seeds must match x in batch size: {len(start)} seeds for {len(targets)} targets.")
        options = {**self._core_options(), "schedule": recipe(self.loss, self.max_iter)["schedule"]}
        del options["steps"]
        out = []
        for i in tqdm(range(0, len(start), self.batch_size), desc=type(self).__name__, disable=not self.verbose):
            b = slice(i, i + self.batch_size)
            out.append(iris(self.estimator.model, targets[b], layer=self.layer, loss=self.loss, start=start[b],
                            steps=self.max_iter, distance=self.distance, lam=self.lam, reference=self.reference,
                            seed=self.seed + i, **options).images)
        return self._from_core(torch.cat(out), x)


class FeatureVisualization(_CoreAttack):
    """Maximise a ``feature`` (channel, neuron or direction of ``layer``) starting from ``x``;
    ``param`` 'pixel', 'fourier' or 'maco' (Fel et al.: the phase only, ``x`` giving the shape);
    ``closeness`` > 0 keeps each result near its ``x`` (Hamblin et al.'s feature accentuation)."""

    attack_params = _CoreAttack.attack_params + ["feature", "kind", "param", "closeness"]

    def __init__(self, estimator, *, layer: str, feature, kind: str = "channel", step_size: float = 0.1,
                 param="pixel", closeness: float = 0.0, **kwargs):
        self.feature, self.kind, self.param, self.closeness = feature, kind, param, closeness
        super().__init__(estimator, layer=layer, step_size=step_size, **kwargs)

    def _check_params(self) -> None:
        super()._check_params()
        _feature_objective(self.layer, self.feature, self.kind)
        make_param(self.param)
        check_nonnegative(self.closeness, "closeness")

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ())
        objective, start = _feature_objective(self.layer, self.feature, self.kind), self._to_core(x)
        objective_for = (lambda b: objective + self.closeness * O.closeness(start[b])) if self.closeness else (
            lambda b: objective)
        return self._from_core(self._optimize(objective_for, start, param=self.param), x)


class FeatureManipulation(_CoreAttack):
    """Feature addition: push unit ``feature`` of ``layer`` up to ``cap`` within an ``eps``-ball of ``x``."""

    attack_params = _CoreAttack.attack_params + ["feature", "cap"]
    _default_norm = 2

    def __init__(self, estimator, *, layer: str, feature: int, eps: float = 2.0, cap: float = 1.0, **kwargs):
        self.feature, self.cap = feature, cap
        super().__init__(estimator, layer=layer, eps=eps, **kwargs)

    def _check_params(self) -> None:
        super()._check_params()
        if isinstance(self.feature, bool) or not isinstance(self.feature, numbers.Integral):
            raise ValueError(f"feature must be an int unit index, got {self.feature!r}.")
        if not isinstance(self.cap, numbers.Real):
            raise ValueError(f"cap must be a number, got {self.cap!r}.")

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ())
        objective = O.feature_addition(self.layer, int(self.feature), float(self.cap))
        return self._from_core(self._optimize(lambda b: objective, self._to_core(x)), x)


class RepresentationPGD(_CoreAttack):
    """Untargeted, label-free PGD on representations: maximise ``||R(x') - R(x)|| / ||R(x)||`` for
    ``x'`` in the ``eps``-ball (``norm`` 2 or np.inf) around ``x``, from a random start (fresh per
    call, drawn from a generator seeded by ``seed``, and the same whatever ``batch_size``).

    ``y`` may hold labels (one-hot or indices, as ART's ``AdversarialTrainer`` passes) and is ignored.
    ``step_size`` defaults to 2.5·eps/max_iter.
    """

    attack_params = _CoreAttack.attack_params + ["random_start"]
    _default_norm = 2
    _default_step_size = True

    def __init__(self, estimator, *, layer: str, eps: float = 0.5, norm=2, step_size: float | None = None,
                 max_iter: int = 10, random_start: bool = True, **kwargs):
        self.random_start = random_start
        super().__init__(estimator, layer=layer, eps=eps, norm=norm, step_size=step_size, max_iter=max_iter,
                         **kwargs)

    @property
    def _step_size(self) -> float:
        return 2.5 * self.eps / self.max_iter if self.step_size is None else self.step_size

    def _check_params(self) -> None:
        super()._check_params()
        if NORMS[self.norm] == "unconstrained":
            raise ValueError("RepresentationPGD needs norm 2 or np.inf.")
        if self.random_start is not True:
            raise ValueError(f"random_start must be True, got {self.random_start!r}: at x' = x the representation "
                             "distance has zero gradient, so PGD without a random start never moves.")

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ())
        clean = self._to_core(x)
        reps = self._representation(clean)
        options = self._core_options()
        begin = make_geometry(options["geometry"], options["eps"]).random_start(clean.cpu(), self._generator)
        return self._from_core(self._optimize(lambda b: -O.inversion(self.layer, reps[b]), clean,
                                              begin=begin.to(clean.device)), x)
