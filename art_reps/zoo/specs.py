"""One model specification for every command: your models by a short string.

- an embedded name (``l2_eps1``, :func:`art_reps.zoo.list_models`);
- ``torchvision:NAME`` or ``timm:NAME`` (timm if installed) with ``weights``, a local state dict
  (loaded with ``weights_only=True``; wrappers under ``state_dict``, ``model`` or
  ``model_state_dict`` and ``module.`` prefixes are unwrapped; the class count is read from it);
- ``madrylab:FILE``, a MadryLab ``robustness`` checkpoint (its architecture told from its
  weights, or ``arch``; its normalisation from the checkpoint);
- a TorchScript file (``torch.jit.save``).

``mean``/``std`` take numbers or a preset of :data:`NORMALISATIONS`; by default a torchvision or
timm model gets ImageNet's, an embedded or TorchScript model none. Whatever cannot be loaded is
refused with one line that says what to do, before any work.

Examples:
    >>> loaded = load_spec("standard")
    >>> type(loaded.model).__name__, loaded.mean
    ('SmallResNet', None)
    >>> normalisation("cifar10", None)[0]
    (0.4914, 0.4822, 0.4465)
"""
from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from .loaders import (IMAGENET_MEAN, IMAGENET_STD, LoadedModel, checked_load, checkpoint_classes, load_madrylab,
                      load_state_dict, unwrap)

NORMALISATIONS = {"imagenet": (IMAGENET_MEAN, IMAGENET_STD),
                  "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
                  "none": (None, None)}
KINDS = ("torchvision", "timm", "madrylab")
USAGE = ("give an embedded name, torchvision:NAME or timm:NAME with --weights FILE, madrylab:FILE or a "
         "TorchScript file")


def normalisation(mean, std, default=(None, None)) -> tuple:
    """(mean, std) from numbers, a preset name of :data:`NORMALISATIONS` (given as ``mean``, or as
    both), or ``default`` where neither is given."""
    def one(value, which: int, name: str):
        if value is None:
            return default[which]
        if isinstance(value, str) or (isinstance(value, (list, tuple))
                                                         and len(value) == 1 and isinstance(value[0], str)):
            preset = value if isinstance(value, str) else value[0]
            if preset in NORMALISATIONS:
                return NORMALISATIONS[preset][which]
            try:
                value = [float(preset)]
            except ValueError:
                raise ValueError(f"--{name} takes numbers or a preset of {sorted(NORMALISATIONS)}, got {preset!r}") \
                    from None
        values = tuple(float(v) for v in value)
        if len(values) not in (1, 3):
            raise ValueError(f"--{name} takes 1 or 3 numbers (one per channel), got {len(values)}")
        if name == "std" and min(values) <= 0:
            raise ValueError(f"--std must be > 0, got {values}")
        return values

    preset = mean[0] if isinstance(mean, (list, tuple)) and len(mean) == 1 else mean
    if isinstance(preset, str) and preset in NORMALISATIONS and std is None:
        return NORMALISATIONS[preset]
    return one(mean, 0, "mean"), one(std, 1, "std")


def _torchvision(name: str, state: dict, source: str, num_classes: int | None) -> nn.Module:
    import torchvision

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise ValueError(f"torchvision:{name} is not a torchvision classifier; see torchvision.models.list_models()")
    classes = _classes(state, source, num_classes)
    return checked_load(torchvision.models.get_model(name, weights=None, num_classes=classes), state, source)


def _timm(name: str, state: dict, source: str, num_classes: int | None) -> nn.Module:
    try:
        import timm
    except ImportError:
        raise ValueError("timm is not installed: pip install 'art-reps[timm]' (or pip install timm)") from None
    if name not in timm.list_models():
        raise ValueError(f"timm:{name} is not a timm model; see timm.list_models()")
    classes = _classes(state, source, num_classes)
    return checked_load(timm.create_model(name, pretrained=False, num_classes=classes), state, source)


def _classes(state: dict, source: str, num_classes: int | None) -> int:
    found = checkpoint_classes(state)
    if num_classes is not None and found is not None and found != num_classes:
        raise ValueError(f"{source} scores {found} classes, not --num-classes {num_classes}: drop --num-classes "
                         "or give the checkpoint trained for that many")
    return num_classes or found or 1000


def _torchscript(path: Path) -> nn.Module | None:
    """The TorchScript module in ``path``, or ``None`` when it is not one (a state dict, a pickle)."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        if not any(n.split("/", 1)[-1].startswith("code/") for n in archive.namelist()):
            return None
    with warnings.catch_warnings():  # torch's deprecation notice speaks to us, not to whoever passed the file
        warnings.filterwarnings("ignore", message="`torch.jit.load`", category=FutureWarning)
        return torch.jit.load(str(path), map_location="cpu").eval()


def load_spec(spec: str, *, weights=None, arch: str | None = None, num_classes: int | None = None, mean=None,
              std=None) -> LoadedModel:
    """The model a specification names, in eval mode, with the normalisation it expects.

    Examples:
        >>> import tempfile, torchvision
        >>> path = tempfile.mktemp(suffix=".pt")
        >>> torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), path)
        >>> loaded = load_spec("torchvision:resnet18", weights=path)
        >>> loaded.model.fc.out_features, loaded.std
        (10, (0.229, 0.224, 0.225))
    """
    from . import list_models, load_model

    if not isinstance(spec, str) or not spec:
        raise ValueError(f"--model must be a model specification: {USAGE}; got {spec!r}")
    kind, _, name = spec.partition(":")
    if spec in list_models():
        _no_weights(spec, weights)
        return LoadedModel(load_model(spec), *normalisation(mean, std))
    if kind in ("torchvision", "timm"):
        if not name:
            raise ValueError(f"--model {spec!r} names no model: {kind}:NAME, e.g. {kind}:resnet50")
        if weights is None:
            raise ValueError(f"--model {spec} needs --weights FILE, a state dict saved from the model (nothing is "
                             "downloaded)")
        state = unwrap(load_state_dict(weights), f"--weights {weights}")
        build = _torchvision if kind == "torchvision" else _timm
        model = build(name, state, f"--weights {weights}", num_classes)
        return LoadedModel(model, *normalisation(mean, std, (IMAGENET_MEAN, IMAGENET_STD)))
    if kind == "madrylab":
        _no_weights(spec, weights)
        if not Path(name).is_file():
            raise FileNotFoundError(f"--model {spec}: checkpoint {name!r} does not exist")
        loaded = load_madrylab(name, arch, num_classes=num_classes)
        given = normalisation(mean, std, (loaded.mean, loaded.std))
        return LoadedModel(loaded.model, *given)
    path = Path(spec)
    if path.is_file():
        _no_weights(spec, weights)
        scripted = _torchscript(path)
        if scripted is None:
            load_state_dict(path)  # a pickled model is refused here, with its own message
            raise ValueError(f"--model {spec} is a state dict, not a TorchScript file: give its architecture, e.g. "
                             f"--model torchvision:resnet50 --weights {spec}")
        return LoadedModel(scripted, *normalisation(mean, std))
    if path.suffix in (".pt", ".pth", ".ckpt", ".safetensors", ".bin") or "/" in spec or "\\" in spec:
        raise FileNotFoundError(f"--model {spec}: no such file")
    raise ValueError(f"unknown model {spec!r}: {USAGE} (embedded: {list_models()})")


def _no_weights(spec: str, weights) -> None:
    if weights is not None:
        raise ValueError(f"--weights is for torchvision:NAME and timm:NAME; --model {spec} carries its own weights")
