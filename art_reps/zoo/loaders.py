"""Safe loading of weights: safetensors, ``weights_only`` torch files, torchvision and MadryLab models."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

# architectures a MadryLab checkpoint is matched against when none is given (their ImageNet models
# are torchvision's)
MADRYLAB_ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "wide_resnet50_2",
                  "wide_resnet101_2", "vgg16_bn", "densenet161")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_MADRY_PREFIXES = ("module.model.", "model.")
_MADRY_SKIP = ("module.attacker.", "attacker.", "module.normalizer.", "normalizer.")
_WRAPPERS = ("state_dict", "model_state_dict", "model")
_HEADS = ("fc.weight", "head.weight", "head.fc.weight", "classifier.weight", "heads.head.weight", "last_linear.weight")


class LoadedModel(NamedTuple):
    """A model with the normalisation it expects (pass ``mean``/``std`` to art_reps functions)."""

    model: nn.Module
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None


def load_state_dict(path) -> dict[str, torch.Tensor]:
    """Tensors from a ``.safetensors`` file or a torch file readable with ``weights_only=True``.

    A file that needs arbitrary unpickling (dill, custom classes) is refused, never unpickled.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise ValueError(f"checkpoint {str(path)!r} is not a readable safetensors file"
                             f" (truncated or corrupt): {e}") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except __import__("pickle").UnpicklingError:
        raise ValueError(
            f"checkpoint {str(path)!r} cannot be loaded without unpickling arbitrary Python objects (a pickled "
            "model or custom classes), which art_reps refuses. If you trust the file, re-save its tensors once: "
            "torch.save(torch.load(f, weights_only=False).state_dict(), 'clean.pt') (or ['model'] for a dict)"
        ) from None
    except Exception as e:  # the unpickler raises many kinds on garbage (IndexError, KeyError, ...)
        raise ValueError(f"checkpoint {str(path)!r} is not a readable torch checkpoint (truncated or not a "
                         f"checkpoint): {str(e).splitlines()[0]}") from None


def unwrap(raw, source: str) -> dict[str, torch.Tensor]:
    """The state dict inside a checkpoint: itself, or under ``state_dict``/``model_state_dict``/
    ``model``; a ``module.`` prefix (DataParallel) and a ``model.`` prefix (a Lightning module that
    holds the network as ``self.model``) on every key are dropped."""
    state = raw
    for key in _WRAPPERS:
        if isinstance(raw, dict) and isinstance(raw.get(key), dict):
            state = raw[key]
            break
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{source} holds no state dict (tensors by name, or under {list(_WRAPPERS)}): save "
                         "model.state_dict()")
    for prefix in ("module.", "model.", "module."):
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def checkpoint_classes(state: dict) -> int | None:
    """The class count of a classifier's state dict: the rows of its last linear layer, if named."""
    for key in _HEADS:
        if key in state and state[key].dim() == 2:
            return state[key].shape[0]
    linear = [k for k, v in state.items() if k.endswith(".weight") and v.dim() == 2]
    return state[linear[-1]].shape[0] if linear else None


def checked_load(model: nn.Module, state: dict, source: str) -> nn.Module:
    own = model.state_dict()
    wrong = [f"{k} {tuple(v.shape)} (the model's {tuple(own[k].shape)})" for k, v in state.items()
             if k in own and isinstance(v, torch.Tensor) and v.shape != own[k].shape]
    if wrong:
        heads = all(k.split(" ")[0].endswith(("fc.weight", "fc.bias", "classifier.weight", "classifier.bias",
                                              "head.weight", "head.bias")) for k in wrong)
        hint = ("; a classifier layer of another size: pass num_classes= the checkpoint's class count" if heads else
                "; the checkpoint is of another architecture: name the one it was saved from")
        raise ValueError(f"{source} does not fit {type(model).__name__}: wrong shapes for {wrong[:3]}{hint}")
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(f"{source} does not fit {type(model).__name__}: missing keys {result.missing_keys[:5]}, "
                         f"unexpected keys {result.unexpected_keys[:5]}; the checkpoint is of another architecture "
                         "(name the one it was saved from) or incomplete")
    return model.eval()


def load_torchvision(name: str, *, weights=None, num_classes: int = 1000, mean=IMAGENET_MEAN,
                     std=IMAGENET_STD) -> LoadedModel:
    """Any torchvision classifier by name, with weights from a local file (no download) and
    its normalisation.

    Examples:
        >>> m = load_torchvision("resnet18", num_classes=10)
        >>> m.mean
        (0.485, 0.456, 0.406)
    """
    import torchvision

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise ValueError(f"{name!r} is not a torchvision classifier; see torchvision.models.list_models()")
    model = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    if weights is not None:
        checked_load(model, unwrap(load_state_dict(weights), str(weights)), str(weights))
    return LoadedModel(model.eval(), tuple(mean), tuple(std))


def load_madrylab(path, architecture: nn.Module | str | None = None, *,
                  num_classes: int | None = None) -> LoadedModel:
    """A MadryLab ``robustness`` checkpoint: the state dict under ``model`` or ``state_dict``,
    keys ``module.model.*`` kept, ``module.attacker.*`` dropped, mean/std read from
    ``module.normalizer.new_mean/new_std``. ``architecture``: a module, a torchvision name, or
    ``None`` for the one of ``MADRYLAB_ARCHS`` whose keys and shapes the weights match.
    """
    state = unwrap(load_state_dict(path), f"checkpoint {str(path)!r}")
    weights = madrylab_weights(state, path)
    mean = std = None
    for prefix in ("module.normalizer.", "normalizer."):
        if prefix + "new_mean" in state:
            mean = tuple(state[prefix + "new_mean"].flatten().tolist())
            std = tuple(state[prefix + "new_std"].flatten().tolist())
    if architecture is None or isinstance(architecture, str):
        import torchvision

        found = checkpoint_classes(weights) or 1000
        name = architecture or _matching_architecture(weights, found, path)
        module = torchvision.models.get_model(name, weights=None, num_classes=num_classes or found)
    else:
        module = copy.deepcopy(architecture)
    return LoadedModel(checked_load(module, weights, str(path)), mean, std)


def _matching_architecture(weights: dict, classes: int, path) -> str:
    """The name of the torchvision classifier of ``MADRYLAB_ARCHS`` (scoring ``classes``) whose state
    dict ``weights`` matches, by keys and shapes."""
    import torchvision

    for name in MADRYLAB_ARCHS:
        own = torchvision.models.get_model(name, weights=None, num_classes=classes).state_dict()
        if own.keys() == weights.keys() and all(own[k].shape == weights[k].shape for k in own):
            return name
    raise ValueError(f"cannot tell the architecture of madrylab:{path} from its weights (none of "
                     f"{list(MADRYLAB_ARCHS)} fits): pass --arch NAME (a torchvision classifier)")


def madrylab_weights(raw, path) -> dict[str, torch.Tensor]:
    """The classifier's own weights in a MadryLab checkpoint (or its state dict): ``module.model.*``
    kept without the prefix, the attacker's and normaliser's copies dropped."""
    weights = {}
    for key, value in unwrap(raw, f"checkpoint {str(path)!r}").items():
        if key.startswith(_MADRY_SKIP):
            continue
        for prefix in _MADRY_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        weights[key] = value
    return weights
