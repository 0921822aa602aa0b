"""torchattacks attacks on representations: ``RepPGD``, ``RepInversion`` and ``RepIRI``.

They behave as the library's own attacks: ``attack(images, labels)`` with images in [0, 1] (or
normalised, after ``set_normalization_used``), outputs on ``attack.device``, usable in
``MultiAttack``, ``save()`` and adversarial-training loops. Labels are accepted and ignored.
Each call draws a fresh random start (noise, seeds) from a generator seeded once by ``seed``, so
training epochs see new starts and a run is reproducible. Every algorithm lives in :mod:`art_reps.core`.

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
from torchattacks.attack import Attack

from .core import IRI_LOSSES, iris, make_geometry, make_start, objectives as O, optimize
from .core.checks import check_count, check_positive, resolve_layer
from .core.representation import Representation


class _CoreAttack(Attack):
    def __init__(self, name: str, model: torch.nn.Module, layer: str, steps: int, fake_relu, seed: int):
        super().__init__(name, model)
        resolve_layer(model, layer)
        self.layer, self.steps, self.fake_relu, self.seed = layer, check_count(steps, "steps"), fake_relu, seed
        self._generator = torch.Generator().manual_seed(seed)
        self.supported_mode = ["default"]

    def _call_seed(self) -> int:
        """A fresh seed for this call, drawn from the attack's own generator."""
        return int(torch.randint(2**31 - 1, (), generator=self._generator))

    def _options(self) -> dict:
        # inside torchattacks' __call__ images are in [0, 1]; normalise only if the attack must
        transform = self.normalize if self._normalization_applied is False else None
        # set_model_training_mode(): torchattacks has set the modes; keep them if training was asked for
        return dict(transform=transform, fake_relu=self.fake_relu, keep_mode=self._model_training, steps=self.steps)

    def _reading(self) -> Representation:
        """How this call reads the model (normalisation, fake ReLU, modes), for the core loop."""
        options = self._options()
        return Representation(self.model, self.layer, fake_relu=options["fake_relu"], transform=options["transform"],
                              keep_mode=options["keep_mode"])



class RepPGD(_CoreAttack):
    """Untargeted representation PGD: maximise ``||R(x') - R(x)|| / ||R(x)||`` within an ``eps``-ball
    (``norm`` 'l2' or 'linf'), step ``alpha`` (default 2.5·eps/steps), from a random start: at
    ``x' = x`` the distance has no gradient, so ``random_start=False`` is refused."""

    def __init__(self, model, *, layer: str, eps: float = 0.5, alpha: float | None = None, steps: int = 10,
                 norm: str = "l2", random_start: bool = True, fake_relu=False, seed: int = 0):
        super().__init__("RepPGD", model, layer, steps, fake_relu, seed)
        if norm not in ("l2", "linf"):
            raise ValueError(f"norm must be 'l2' or 'linf', got {norm!r}")
        if random_start is not True:
            raise ValueError(f"random_start must be True, got {random_start!r}: at x' = x the representation "
                             "distance has zero gradient, so PGD without a random start never moves")
        self.eps, self.norm = check_positive(eps, "eps"), norm
        self.alpha = check_positive(2.5 * self.eps / steps if alpha is None else alpha, "alpha")

    def forward(self, images, labels=None):
        images = images.clone().detach().to(self.device)
        rep = self._reading()
        reps = rep(images)[self.layer]
        begin = make_geometry(self.norm, self.eps).random_start(images.cpu(), self._generator).to(images.device)
        return optimize(rep, -O.inversion(self.layer, reps), images, geometry=self.norm, eps=self.eps,
                        step_size=self.alpha, random_start=begin, steps=self.steps).images


class RepInversion(_CoreAttack):
    """Representation inversion of ``images`` from ``start`` (a kind such as Engstrom's 'noise')."""

    def __init__(self, model, *, layer: str, steps: int = 400, step_size: float = 0.05, start: str = "noise",
                 fake_relu=False, seed: int = 0):
        super().__init__("RepInversion", model, layer, steps, fake_relu, seed)
        self.step_size, self.start = check_positive(step_size, "step_size"), start

    def forward(self, images, labels=None):
        images = images.clone().detach().to(self.device)
        rep = self._reading()
        reps = rep(images)[self.layer]
        start = make_start(self.start, images.shape, seed=self._call_seed(), dtype=images.dtype).to(images.device)
        return optimize(rep, O.inversion(self.layer, reps), start, step_size=self.step_size,
                        steps=self.steps).images


class RepIRI(_CoreAttack):
    """Identically represented inputs of ``images`` from seeds ``start`` with any IRI ``loss`` of
    :mod:`art_reps.core.iris` (``distance``/``lam``/``reference`` for 'adversarial'), each loss with
    its own optimiser and schedule; ``step_size=None`` takes the loss's own."""

    def __init__(self, model, *, layer: str, loss: str = "regularizer-free", steps: int = 400,
                 step_size: float | None = None, start: str = "super-noise", distance=None, lam="auto",
                 reference: str = "target", fake_relu=False, seed: int = 0):
        super().__init__("RepIRI", model, layer, steps, fake_relu, seed)
        if loss not in IRI_LOSSES:
            raise ValueError(f"loss must be one of {IRI_LOSSES}, got {loss!r}")
        self.loss, self.start, self.distance, self.lam, self.reference = loss, start, distance, lam, reference
        self.step_size = None if step_size is None else check_positive(step_size, "step_size")

    def forward(self, images, labels=None):
        images = images.clone().detach().to(self.device)
        options = self._options()
        steps = options.pop("steps")
        return iris(self.model, images, layer=self.layer, loss=self.loss, start=self.start, steps=steps,
                    step_size=self.step_size, distance=self.distance, lam=self.lam, reference=self.reference,
                    seed=self._call_seed(), **options).images
