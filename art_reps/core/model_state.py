"""Borrow a caller's model and grad mode, and give both back exactly as they were."""
from __future__ import annotations

import functools
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def frozen(model: nn.Module, *, eval_mode: bool = True):
    """Eval mode (unless ``eval_mode=False``: the modes as they are) and ``requires_grad=False``
    on every parameter inside; all restored after.

    Each submodule's own ``training`` flag and each parameter's ``requires_grad`` come back
    as they were, also when the body raises. Parameter ``.grad`` fields are never written because
    no parameter needs a gradient. BatchNorm statistics cannot move in eval mode; with
    ``eval_mode=False`` a module in training mode normalises with its batch's statistics (as the
    caller asked) and every buffer (running means and variances, batch counts) is put back after.

    Examples:
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).train()
        >>> with frozen(net):
        ...     net.training
        False
        >>> net.training
        True
        >>> before = net[1].running_mean.clone()
        >>> with frozen(net, eval_mode=False):
        ...     _ = net(torch.randn(8, 2))     # training mode: batch statistics
        >>> torch.equal(net[1].running_mean, before)
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    buffers = [] if eval_mode else [(b, b.detach().clone()) for b in model.buffers()]
    try:
        if eval_mode:
            model.eval()
        for p, _ in flags:
            p.requires_grad_(False)
        yield model
    finally:
        for m, mode in modes:
            m.training = mode
        for p, flag in flags:
            p.requires_grad_(flag)
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)


def with_autograd(fn):
    """Run ``fn`` with autograd on even when the caller is inside ``torch.no_grad()`` or
    ``torch.inference_mode()`` (evaluation loops, Captum's noise tunnels); tensor arguments made
    in inference mode are cloned into normal tensors, the caller's own are left as they are."""

    def normal(value):
        return value.clone() if isinstance(value, torch.Tensor) and value.is_inference() else value

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with torch.inference_mode(False), torch.enable_grad():
            return fn(*map(normal, args), **{k: normal(v) for k, v in kwargs.items()})

    return wrapper
