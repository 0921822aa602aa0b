"""torchattacks attacks on representations: ``RepPGD``, ``RepInversion`` and ``RepIRI``.

They behave as the library's own attacks: ``attack(images, labels=None)`` with images in [0, 1]
(or normalised, after ``set_normalization_used``), outputs on ``attack.device``, usable in
``MultiAttack``, ``save()`` and adversarial-training loops. Labels are accepted and ignored. Each
runs one method of :mod:`art_reps.core.methods`, with that method's recipe for every argument left
at ``None``. Each call draws fresh random starts (noise, seeds) from torch's global generator, as
torchattacks' own attacks do, so ``torch.manual_seed`` before a call repeats it; with ``seed=``
they come from a generator seeded once instead.

Examples:
    >>> import art_reps, torch
    >>> model = art_reps.load_model("l2_eps1")
    >>> atk = RepPGD(model, layer="avgpool", eps=0.5, steps=5)
    >>> x = art_reps.data.digits_on_textures("test").images[:4]
    >>> atk(x, torch.zeros(4, dtype=torch.long)).shape
    torch.Size([4, 3, 32, 32])
"""
from __future__ import annotations

import torch

from .extras import missing_extra

try:
    from torchattacks.attack import Attack
except ImportError as error:
    raise missing_extra(error, "torchattacks") from error

from .core import ATTACK, INVERSION, IRI_LOSSES, IRIS, attack, invert, iris
from .core.checks import check_count, check_positive, resolve_layer

_SEED_RANGE = 2 ** 62


class _CoreAttack(Attack):
    method = INVERSION

    def __init__(self, name: str, model: torch.nn.Module, layer: str, steps: int | None, fake_relu, seed: int | None,
                 **arguments):
        super().__init__(name, model)
        resolve_layer(model, layer)
        self.layer, self.fake_relu = layer, fake_relu
        self.steps = None if steps is None else check_count(steps, "steps")
        if seed is not None:
            check_count(seed, "seed", minimum=0, maximum=2 ** 63 - 1)
        self.seed = seed
        self._seeds = None if seed is None else torch.Generator().manual_seed(int(seed))
        self.supported_mode = ["default"]
        self.method.bind(model, layer=layer, **arguments, **self._settings())  # every argument checked now

    def _call_seed(self) -> int:
        """This call's seed: from torch's global generator, or the attack's own when ``seed`` was given."""
        return int(torch.randint(_SEED_RANGE, (1,), generator=self._seeds))

    def _settings(self) -> dict:
        """The options this attack fixes (``None`` leaves the method's recipe)."""
        given = {"steps": self.steps, "fake_relu": self.fake_relu}
        return {k: v for k, v in given.items() if v is not None}

    def _run(self, function, images, **arguments) -> torch.Tensor:
        # inside torchattacks' __call__ images are in [0, 1]; normalise only if the attack must
        transform = self.normalize if self._normalization_applied is False else None
        images = images.clone().detach().to(self.device)
        # set_model_training_mode(): torchattacks has set the modes; keep them if training was asked for
        return function(self.model, images, layer=self.layer, transform=transform, keep_mode=self._model_training,
                        seed=self._call_seed(), progress=False, **self._settings(), **arguments).images


class RepPGD(_CoreAttack):
    """Untargeted representation PGD (:func:`art_reps.attack`): maximise ``||R(x') - R(x)|| / ||R(x)||``
    within an ``eps``-ball (``norm`` 'l2' or 'linf'), step ``alpha`` (default 2.5·eps/steps), from a
    random start: at ``x' = x`` the distance has no gradient, so ``random_start=False`` is refused."""

    method = ATTACK

    def __init__(self, model, *, layer: str, eps: float = 0.5, alpha: float | None = None, steps: int = 10,
                 norm: str = "l2", random_start: bool = True, fake_relu=None, seed: int | None = None):
        if norm not in ("l2", "linf"):
            raise ValueError(f"norm must be 'l2' or 'linf', got {norm!r}")
        if random_start is not True:
            raise ValueError(f"random_start must be True, got {random_start!r}: at x' = x the representation "
                             "distance has zero gradient, so PGD without a random start never moves")
        self.eps, self.norm = check_positive(eps, "eps"), norm
        self.alpha = check_positive(2.5 * self.eps / check_count(steps, "steps") if alpha is None else alpha, "alpha")
        super().__init__("RepPGD", model, layer, steps, fake_relu, seed)

    def _settings(self) -> dict:
        return {**super()._settings(), "geometry": self.norm, "eps": self.eps, "step_size": self.alpha}

    def forward(self, images, labels=None):
        return self._run(attack, images)


class RepInversion(_CoreAttack):
    """Representation inversion of ``images`` from ``start`` (a kind such as Engstrom's 'noise'), by
    default with :func:`art_reps.invert`'s recipe."""

    def __init__(self, model, *, layer: str, steps: int | None = None, step_size: float | None = None,
                 start: str = "noise", fake_relu=None, seed: int | None = None):
        self.step_size = None if step_size is None else check_positive(step_size, "step_size")
        self.start = start
        super().__init__("RepInversion", model, layer, steps, fake_relu, seed, start=start)

    def _settings(self) -> dict:
        return {**super()._settings(), **({} if self.step_size is None else {"step_size": self.step_size})}

    def forward(self, images, labels=None):
        return self._run(invert, images, start=self.start)


class RepIRI(_CoreAttack):
    """Identically represented inputs of ``images`` from seeds ``start`` with any IRI ``loss`` of
    :mod:`art_reps.core.iri_losses` (``distance``/``lam``/``reference`` for 'adversarial'), each loss
    with its own recipe (:func:`art_reps.iris`) for the arguments left at ``None``."""

    method = IRIS

    def __init__(self, model, *, layer: str, loss: str = "regularizer-free", steps: int | None = None,
                 step_size: float | None = None, start: str = "super-noise", distance=None, lam="auto",
                 reference: str = "target", fake_relu=None, seed: int | None = None):
        if loss not in IRI_LOSSES:
            raise ValueError(f"loss must be one of {IRI_LOSSES}, got {loss!r}")
        self.loss, self.start, self.distance, self.lam, self.reference = loss, start, distance, lam, reference
        self.step_size = None if step_size is None else check_positive(step_size, "step_size")
        super().__init__("RepIRI", model, layer, steps, fake_relu, seed, loss=loss, start=start)

    def _settings(self) -> dict:
        return {**super()._settings(), **({} if self.step_size is None else {"step_size": self.step_size})}

    def forward(self, images, labels=None):
        return self._run(iris, images, loss=self.loss, start=self.start, distance=self.distance, lam=self.lam,
                         reference=self.reference)
