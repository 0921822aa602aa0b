"""Input validation shared by every entry point: clear errors that name the argument."""
from __future__ import annotations

import difflib
import math
import numbers

import torch
from torch import nn


def check_images(x, name: str = "images", *, channels: int | None = None) -> torch.Tensor:
    """A float (N, C, H, W) tensor with N > 0, finite, inside [0, 1]; returned unchanged."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor with values in [0, 1], got dtype {x.dtype}")
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(x.shape)} (rank {x.dim()})")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch: shape {tuple(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} has {x.shape[1]} channels but the model expects {channels}: shape {tuple(x.shape)}")
    values = x.detach()
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"{name} contains NaN or Inf values")
    lo, hi = float(values.min()), float(values.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"{name} must hold values in [0, 1] (normalisation is passed separately as mean/std), "
                         f"got min {lo:.4g}, max {hi:.4g}")
    return x


def check_same_batch(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    if a.shape[0] != b.shape[0] and b.shape[0] != 1:
        raise ValueError(f"{name_a} and {name_b} must have the same batch size (or {name_b} a batch of 1), "
                         f"got {a.shape[0]} and {b.shape[0]}")


def _scalar(value):
    """A one-element tensor as the Python number it holds (users pass ``torch.tensor(0.5)``)."""
    return value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value


def check_labels(labels, n: int, *, classes: int | None = None, name: str = "labels") -> torch.Tensor:
    """``labels`` as an (n,) long tensor of class indices, each in [0, ``classes``) when given: a
    tensor, list or numpy array of integers; anything else is refused by name."""
    try:
        tensor = torch.as_tensor(labels)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be {n} integer class indices, got {type(labels).__name__}") from None
    if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer class indices, got dtype {tensor.dtype}")
    if tensor.shape != (n,):
        raise ValueError(f"{name} must hold one label per image ({n}), got shape {tuple(tensor.shape)}")
    if n and (int(tensor.min()) < 0 or (classes is not None and int(tensor.max()) >= classes)):
        bound = f"[0, {classes})" if classes is not None else ">= 0"
        raise ValueError(f"{name} must be class indices in {bound}, got values from {int(tensor.min())} to "
                         f"{int(tensor.max())}")
    return tensor.long()


def check_count(value, name: str, *, minimum: int = 1, maximum: int = 10_000_000) -> int:
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not minimum <= int(value) <= maximum:
        raise ValueError(f"{name} must be an int in [{minimum}, {maximum}], got {value!r}")
    return int(value)


def check_nonnegative(value, name: str) -> float:
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_positive(value, name: str) -> float:
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def resolve_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name`` (nested, e.g. ``"layer3.1.conv2"``; ``""`` is the model)."""
    if not isinstance(name, str):
        raise TypeError(f"layer must be a str naming a submodule (e.g. 'layer3.1'), got {type(name).__name__}")
    if name and isinstance(model, torch.jit.ScriptModule):
        raise ValueError(f"layer {name!r}: a TorchScript model can be read only at its output (layer ''), since "
                         "PyTorch runs no hooks inside it; load the model as a torch.nn.Module to read other layers")
    modules = dict(model.named_modules())
    if name not in modules:
        close = difflib.get_close_matches(name, [n for n in modules if n], n=5, cutoff=0.5)
        hint = f"; close names: {close}" if close else f"; some names: {[n for n in modules if n][:8]}"
        raise ValueError(f"layer {name!r} does not exist in {type(model).__name__}{hint}")
    return modules[name]


def expected_channels(model: nn.Module) -> int | None:
    """Input channels of the first convolution, if the model has one."""
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            return m.in_channels
    return None


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype of the model's first floating parameter (float32 if it has none)."""
    for t in model.parameters():
        if t.is_floating_point():
            return t.dtype
    return torch.float32


def model_device(model: nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")
