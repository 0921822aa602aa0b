"""torchattacks attacks on representations, derived from the methods' declarations.

:func:`attack_class` turns any registered :class:`~art_reps.core.Method` into a torchattacks
``Attack``: its constructor takes the method's own keywords (with the method's defaults) and the
shared loop options under torchattacks' names (``eps``, ``alpha``, ``steps``, ``norm``,
``random_start``), each ``None`` taking the method's recipe, and refuses at construction what the
method would refuse. ``RepPGD``, ``RepInversion`` and ``RepIRI`` are three such classes.

They behave as the library's own attacks: ``attack(images, labels=None)`` with images in [0, 1]
(or normalised, after ``set_normalization_used``), outputs on ``attack.device``, usable in
``MultiAttack``, ``save()`` and adversarial-training loops. Labels are accepted and ignored. Each
call draws fresh random starts from torch's global generator, as torchattacks' own attacks do, so
``torch.manual_seed`` (or ``np.random.seed``) before a call repeats it; with ``seed=`` they come
from a generator seeded once instead.

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

from .core import METHODS, Method
from .adapting import SEED_RANGE, call_seed, constructor_signature, own_keywords, seeds_generator, set_declared
from .core.checks import resolve_layer

#: torchattacks' name -> the shared loop option it sets (``None``: the method's recipe)
SHARED = {"eps": "eps", "alpha": "step_size", "steps": "steps", "norm": "geometry", "random_start": "random_start"}
_RUN = {"fake_relu": None, "seed": None}


class _CoreAttack(Attack):
    """A torchattacks ``Attack`` running :attr:`method`; see :func:`attack_class`."""

    method: Method = METHODS["invert"]

    def __init__(self, model: torch.nn.Module, **params):
        super().__init__(type(self).__name__, model)
        set_declared(self, self.parameters(), params)
        if self.norm not in (None, "l2", "linf"):
            raise ValueError(f"norm must be 'l2' or 'linf' (None: the recipe's), got {self.norm!r}")
        resolve_layer(model, self.layer)
        self._seeds = seeds_generator(self.seed)
        self.supported_mode = ["default"]
        self.method.bind(model, **self._arguments(), **self._options())  # every parameter checked now

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__signature__ = constructor_signature("model", cls.parameters())

    @classmethod
    def parameters(cls) -> dict:
        """The constructor's keywords and defaults: the method's own, then the shared options."""
        return {**own_keywords(cls.method), **dict.fromkeys(SHARED), **_RUN}

    def _arguments(self) -> dict:
        return {name: getattr(self, name) for name in own_keywords(self.method)}

    def _options(self) -> dict:
        """The options the parameters set (``None`` leaves the method's recipe)."""
        given = {core: getattr(self, name) for name, core in SHARED.items()}
        given["fake_relu"] = self.fake_relu
        return {k: v for k, v in given.items() if v is not None}

    def forward(self, images, labels=None):
        # inside torchattacks' __call__ images are in [0, 1]; normalise only if the attack must
        transform = self.normalize if self._normalization_applied is False else None
        images = images.clone().detach().to(self.device)
        first = self.method.inputs[0]
        # set_model_training_mode(): torchattacks has set the modes; keep them if training was asked for
        return self.method(self.model, **{first: images}, **self._arguments(), transform=transform,
                           keep_mode=self._model_training, seed=call_seed(self._seeds), progress=False,
                           **self._options()).images


def attack_class(method: Method, name: str | None = None, doc: str | None = None) -> type:
    """A torchattacks ``Attack`` class running ``method`` on its first input (``method.inputs[0]``).

    Examples:
        >>> import inspect
        >>> from art_reps.core import METHODS
        >>> Inversion = attack_class(METHODS["invert"], "Inversion")
        >>> list(inspect.signature(Inversion).parameters)[:3]
        ['model', 'layer', 'start']
    """
    if not method.inputs:
        raise ValueError(f"method {method.name!r} takes no input images: it has no torchattacks form")
    name = name or "Rep" + method.name.title().replace("_", "")
    doc = doc or f"{method.summary} (:func:`art_reps.{method.name}`)."
    cls: type[_CoreAttack] = type(name, (_CoreAttack,), {"method": method, "__module__": __name__, "__doc__": doc})
    return cls


RepPGD = attack_class(METHODS["attack"], "RepPGD", """Untargeted representation PGD (:func:`art_reps.attack`): maximise
    ``||R(x') - R(x)|| / ||R(x)||`` within an ``eps``-ball (``norm`` 'l2' or 'linf'), step ``alpha``, from a
    random start; every ``None`` takes ``METHODS["attack"].defaults()``.""")
RepInversion = attack_class(METHODS["invert"], "RepInversion", """Representation inversion of ``images`` from
    ``start`` (a kind such as Engstrom's 'noise'); every ``None`` takes :func:`art_reps.invert`'s recipe.""")
RepIRI = attack_class(METHODS["iris"], "RepIRI", """Identically represented inputs of ``images`` from seeds
    ``start`` with any IRI ``loss`` of :mod:`art_reps.core.iri_losses`, each loss with its own recipe
    (:func:`art_reps.iris`) for the options left at ``None``.""")

__all__ = ["RepPGD", "RepInversion", "RepIRI", "attack_class", "SHARED", "SEED_RANGE"]
