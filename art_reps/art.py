"""ART evasion attacks on representations, over any PyTorch estimator (e.g. ``PyTorchClassifier``).

Numpy in and out in the dtype of ``x``; the estimator's preprocessing, ``clip_values`` (also per
channel or per pixel), device and ``channels_first`` are respected; ``eps`` and ``step_size`` are in
the estimator's input units. Layers are named as in ``model.named_modules()`` (``"layer3.1"``),
which ART's own ``FeatureAdversaries`` cannot do. Each class runs one method of
:mod:`art_reps.core.methods`, its keywords derived from the method's declaration (the method's own
and :data:`SHARED`), with the method's recipe for every parameter left at ``None``; a bad parameter is
a ``ValueError`` at construction. :func:`attack_class` makes such a class for any method. Random
starts are fresh on every call, drawn from numpy's global generator as ART's own attacks draw (so
``np.random.seed`` before a call repeats it) unless ``seed=`` is given (then from a generator seeded once).

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
import re

import numpy as np
import torch

from .extras import missing_extra

try:
    from art.attacks.attack import EvasionAttack
    from art.estimators.estimator import BaseEstimator, NeuralNetworkMixin
except ImportError as error:
    raise missing_extra(error, "art") from error

from .adapting import call_seed, check_seed, constructor_signature, own_keywords, seeds_generator, set_declared
from .core import IRI_LOSSES, METHODS, Method
from .core.checks import resolve_layer

NORMS = {2: "l2", "2": "l2", np.inf: "linf", "inf": "linf", "unconstrained": "unconstrained"}
#: ART's name -> the shared loop option it sets (``None``: the method's recipe)
SHARED = {"norm": "geometry", "eps": "eps", "step_size": "step_size", "max_iter": "steps", "optimizer": "optimizer",
          "schedule": "schedule", "param": "param", "random_start": "random_start"}
#: how a call runs: ART's conventions
RUN = {"fake_relu": None, "batch_size": 32, "verbose": True, "seed": None}


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
    """An ART evasion attack running :attr:`method`: its keywords are the method's own (less
    ``taken``, which ``generate`` fills; ``renamed`` maps ART names to the method's) and the shared
    options of :data:`SHARED` and :data:`RUN`, every ``None`` taking the method's recipe. Subclasses
    get ``attack_params`` and their signature from the declaration."""

    method: Method = METHODS["invert"]
    taken: tuple = ()
    renamed: dict = {}
    attack_params = EvasionAttack.attack_params
    _estimator_requirements = (BaseEstimator, NeuralNetworkMixin)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.attack_params = EvasionAttack.attack_params + list(cls.parameters())
        cls.__signature__ = constructor_signature("estimator", cls.parameters())

    @classmethod
    def own(cls) -> dict:
        """ART name -> the method's keyword, for the method's own keywords the class takes."""
        back = {core: art for art, core in cls.renamed.items()}
        return {back.get(n, n): n for n in own_keywords(cls.method, cls.taken)}

    @classmethod
    def parameters(cls) -> dict:
        """The constructor's keywords and defaults: the method's own, then the shared options."""
        own = own_keywords(cls.method, cls.taken)
        return {**{art: own[core] for art, core in cls.own().items()}, **dict.fromkeys(SHARED), **RUN}

    def __init__(self, estimator, **params):
        super().__init__(estimator=estimator)
        set_declared(self, self.parameters(), params, ValueError)  # ART's convention: a ValueError
        self._check_params()
        self._seeds = seeds_generator(self.seed)

    # -- parameters ------------------------------------------------------------------------
    def _check_params(self) -> None:
        """ART's convention: every bad parameter is a ``ValueError``, raised at construction."""
        self._check_own_params()
        # a keyword generate() fills with x is checked as images of x's shape, as many as any
        # argument that gives one value per image (a list of labels) has values
        arguments = self._arguments()
        count = max((len(v) for v in arguments.values() if not isinstance(v, (str, bytes, dict))
                     and np.ndim(v) >= 1 and len(v) > 0), default=1)
        placeholders = {"start": self._to_core(np.zeros((count, *self.estimator.input_shape), np.float32)
                                               + self._range[0])} if "start" in self.taken else {}
        try:
            self.method.bind(self.estimator.model, **arguments, **placeholders, **self._options())
        except (TypeError, ValueError) as e:  # named as this class names them
            message = str(e)
            for art, core in {**self.renamed, **{a: c for a, c in SHARED.items() if a != c}}.items():
                message = re.sub(rf"\b{core}\b", art, message)
            raise ValueError(message) from e

    def _check_own_params(self) -> None:
        model = getattr(self.estimator, "model", None)
        if not isinstance(model, torch.nn.Module):
            raise ValueError("The estimator must wrap a torch.nn.Module (e.g. art's PyTorchClassifier).")
        if not isinstance(self.layer, str):
            raise ValueError(f"layer must be a str naming a submodule (e.g. 'layer3.1'), got {self.layer!r}.")
        resolve_layer(model, self.layer)
        check_seed(self.seed)
        if self.norm is not None and self.norm not in NORMS:
            raise ValueError(f"norm must be one of None (the recipe's), 2, np.inf or 'unconstrained', "
                             f"got {self.norm!r}.")
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

    def _arguments(self) -> dict:
        """The method's own keywords, as the parameters set them."""
        return {core: getattr(self, art) for art, core in self.own().items()}

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
        options = {"transform": self._transform, "batch_size": self.batch_size, "progress": self.verbose,
                   "box": self._box(), **({} if self.fake_relu is None else {"fake_relu": self.fake_relu})}
        for art, core in SHARED.items():
            value = getattr(self, art)
            if value is None:
                continue
            if art == "norm":
                value = NORMS[value]
            elif art in ("eps", "step_size") and _is_number(value):
                value = float(value) / (hi - lo)
            options[core] = value
        return options

    def _run(self, **arguments) -> torch.Tensor:
        """The method on the estimator's model: the parameters' keywords, then ``arguments``."""
        seed = call_seed(self._seeds, numpy_global=True)
        return self.method(self.estimator.model, **{**self._arguments(), **arguments}, seed=seed,
                           **self._options()).images

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        """The method on ``x`` (its first input); a method's further inputs are keywords of the same shape."""
        first, *more = self.method.inputs
        self._check_kwargs(kwargs, tuple(more))
        inputs = {first: self._to_core(x)}
        for name in more:
            if name not in kwargs:
                raise ValueError(f"generate() needs {name}= (an array shaped as x).")
            inputs[name] = self._to_core(kwargs[name], name)
        images = self._run(**inputs)
        if images.shape != inputs[first].shape:
            raise ValueError(f"{self.method.name} gives {tuple(images.shape)} for x of {tuple(inputs[first].shape)}: "
                             "not one image per input, so it has no ART form.")
        return self._from_core(images, x)


def attack_class(method: Method, name: str | None = None, doc: str | None = None) -> type:
    """An ART evasion attack class running ``method`` on ``x`` as its first input.

    Examples:
        >>> import inspect
        >>> from art_reps.core import METHODS
        >>> PGD = attack_class(METHODS["attack"], "PGD")
        >>> list(inspect.signature(PGD).parameters)[:4]
        ['estimator', 'layer', 'norm', 'eps']
    """
    if not method.inputs:
        raise ValueError(f"method {method.name!r} takes no input images: it has no ART form")
    return type(name or "Rep" + method.name.title().replace("_", ""), (_CoreAttack,),
                {"method": method, "__module__": __name__,
                 "__doc__": doc or f"{method.summary} (:func:`art_reps.{method.name}`)."})


class RepresentationInversion(_CoreAttack):
    """Images whose ``layer`` representation matches that of ``targets`` (or given representations),
    starting from ``x``; every ``None`` takes :func:`art_reps.invert`'s recipe. ``y`` is ignored.

    ``generate(x, y=None, *, targets=None, target_representations=None)``.
    """

    method = METHODS["invert"]
    taken = ("start",)

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
            return self._from_core(self._run(targets=targets, start=start), x)
        reps = torch.as_tensor(np.asarray(reps, dtype=np.float32), device=self.estimator.device)
        if reps.dim() < 2 or len(reps) != len(start):
            raise ValueError(f"target_representations must be (N, ...) with N = {len(start)} (one per input), got "
                             f"shape {tuple(reps.shape)}.")
        return self._from_core(self._run(start=start, representations=reps), x)


class IRIGenerator(_CoreAttack):
    """Identically represented inputs (Nanda et al.): from ``seeds`` (``seed_kind``, a kind such as
    'super-noise', or images), inputs whose ``layer`` representation equals that of the targets
    ``x``, made with any ``loss`` of :mod:`art_reps.core.iri_losses` (``LOSSES``), each loss with
    its own recipe (:func:`art_reps.iris`) for the parameters left at ``None``.

    ``generate(x, y=None, *, seeds=None)`` returns one IRI per target.
    """

    method = METHODS["iris"]
    renamed = {"seed_kind": "start"}
    LOSSES = IRI_LOSSES

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ("seeds",))
        targets = self._to_core(x)
        seeds = kwargs.get("seeds")
        if seeds is None:
            return self._from_core(self._run(targets=targets), x)
        start = self._to_core(seeds, "seeds")
        if len(start) != len(targets):
            raise ValueError(f"seeds must match x in batch size: {len(start)} seeds for {len(targets)} targets.")
        return self._from_core(self._run(targets=targets, start=start), x)


class FeatureVisualization(_CoreAttack):
    """Maximise a ``feature`` (channel, neuron or direction of ``layer``) starting from ``x``;
    ``param`` 'pixel', 'fourier' or 'maco' (Fel et al.: begins from ``x``'s phase, the magnitude
    fixed); ``closeness`` > 0 keeps each result near its ``x`` (Hamblin et al.'s feature
    accentuation). Every ``None`` takes :func:`art_reps.visualize`'s recipe for the parameterisation."""

    method = METHODS["visualize"]
    taken = ("start", "n", "size")

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs) -> np.ndarray:
        self._check_kwargs(kwargs, ())
        return self._from_core(self._run(start=self._to_core(x)), x)


FeatureManipulation = attack_class(METHODS["manipulate"], "FeatureManipulation", """Feature addition: push unit
    ``feature`` of ``layer`` up to ``cap`` within an ``eps``-ball of ``x``; every ``None`` takes
    :func:`art_reps.manipulate`'s recipe (an L2 ball of radius 2).""")

RepresentationPGD = attack_class(METHODS["attack"], "RepresentationPGD", """Untargeted, label-free PGD on
    representations: maximise ``||R(x') - R(x)|| / ||R(x)||`` for ``x'`` in the ``eps``-ball (``norm`` 2 or
    np.inf) around ``x``, from a random start (fresh per call; the same whatever ``batch_size``); every ``None`` takes
    :func:`art_reps.attack`'s recipe. ``y`` may hold labels (as ART's ``AdversarialTrainer`` passes): ignored.""")
