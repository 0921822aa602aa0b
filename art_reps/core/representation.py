"""Read named layers of any ``nn.Module``, with explicit normalisation and a scoped fake ReLU."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from .checks import check_images, expected_channels, model_device, model_dtype, resolve_layer
from .model_state import frozen


class _Captured(Exception):
    """Raised by a hook once every requested layer has run: the rest of the forward is skipped."""


class _FakeReLU(torch.autograd.Function):
    """ReLU forward, identity backward (Engstrom et al.)."""

    @staticmethod
    def forward(ctx, x):
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        return grad


def _as_channel_vector(values, name: str) -> torch.Tensor | None:
    if values is None:
        return None
    t = torch.as_tensor(values, dtype=torch.float32).flatten()
    if t.numel() == 0 or not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be a non-empty sequence of finite numbers, got {values!r}")
    if name == "std" and bool((t <= 0).any()):
        raise ValueError(f"std must be > 0 everywhere, got {values!r}")
    return t.view(1, -1, 1, 1)


def _main_output(output, name: str) -> torch.Tensor:
    """A layer's output as one tensor: tuples and lists (attention blocks, LSTMs, multi-output
    models) and mappings (``ModelOutput``-style dicts) give their first element, which is where
    those modules put their main output."""
    while not isinstance(output, torch.Tensor):
        if isinstance(output, (tuple, list)) and output:
            output = output[0]
        elif isinstance(output, Mapping) and output:
            output = next(iter(output.values()))
        else:
            where = "the model" if name == "" else f"layer {name!r}"
            raise TypeError(f"{where} returns a {type(output).__name__}, not a tensor (or a tuple, list or dict "
                            "starting with one): name a submodule whose output is a tensor")
    return output


class Representation:
    """The activations of one or several named layers of ``model``.

    Images go in as (N, C, H, W) in [0, 1]; ``transform`` (any differentiable callable, e.g. an
    adapter's preprocessing) and then ``mean``/``std`` (per channel) are applied before the model.
    ``layer`` ``""`` is the model's output (read from its return value, so scripted models work too).
    A layer that returns a tuple, list or dict is read at its first element (attention blocks and
    LSTMs put their main output there). The forward stops as soon as every requested layer
    has run (a module called twice is read at its first call). ``fake_relu`` replaces a ReLU's
    backward by the identity (Engstrom et al.): ``True`` fakes only the last ``nn.ReLU`` *call*
    before the deepest requested layer's output, the call that produces the representation, as
    MadryLab does (torchvision's blocks call one ``relu`` module twice; the inner call stays a
    ReLU); ``"auto"`` does the same where an ``nn.ReLU`` runs before the layer and nothing
    elsewhere (GELU transformers); a module name or a list of names fakes every call of those modules. Nothing is left
    on the model: hooks live only inside :meth:`attached` (or one ``__call__``), during which the
    model is in eval mode, unless ``keep_mode=True`` leaves its modes as the caller set them.
    ``forward_args``: the model's further positional arguments, after the images (whole, to every call).

    Examples:
        >>> from art_reps.zoo.architectures import SmallResNet
        >>> rep = Representation(SmallResNet(), ["layer2", "avgpool"])
        >>> {k: tuple(v.shape) for k, v in rep(torch.rand(2, 3, 32, 32)).items()}
        {'layer2': (2, 64, 16, 16), 'avgpool': (2, 128, 1, 1)}
    """

    def __init__(self, model: nn.Module, layers: str | Sequence[str], *, mean=None, std=None,
                 fake_relu: bool | str | Sequence[str] = False, transform=None, keep_mode: bool = False,
                 forward_args: tuple = ()):
        if not isinstance(keep_mode, bool):
            raise TypeError(f"keep_mode must be True or False, got {keep_mode!r}")
        if not isinstance(model, nn.Module):
            hint = ""
            if isinstance(getattr(model, "model", None), nn.Module) and hasattr(model, "mean"):
                hint = (": for a loader's result pass its parts, e.g. invert(loaded.model, x, ..., "
                        "mean=loaded.mean, std=loaded.std)")
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}{hint}")
        self.model = model
        if not isinstance(layers, (str, list, tuple)):
            raise TypeError(f"layer must be a str naming a submodule (e.g. 'layer3.1'), got {layers!r}")
        self.layers = (layers,) if isinstance(layers, str) else tuple(layers)
        if not self.layers:
            raise ValueError("layers must name at least one layer")
        self._modules = {name: resolve_layer(model, name) for name in self.layers}
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        self.transform, self.keep_mode = transform, bool(keep_mode)
        if not isinstance(forward_args, tuple):
            raise TypeError(f"forward_args must be a tuple (the model's arguments after the images), "
                            f"got {type(forward_args).__name__}")
        self.forward_args = forward_args
        self.mean = _as_channel_vector(mean, "mean")
        self.std = _as_channel_vector(std, "std")
        self.channels = expected_channels(model)
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v is not None and self.channels is not None and v.shape[1] not in (1, self.channels):
                raise ValueError(f"{name} has {v.shape[1]} entries but the model takes {self.channels} channels")
        self.fake_relu_option = fake_relu
        has_relu = any(isinstance(m, nn.ReLU) for m in model.modules())
        self.fake_last_relu = fake_relu is True or (fake_relu == "auto" and has_relu)
        self.fake_relu = {} if fake_relu == "auto" else self._fake_relu_modules(fake_relu, has_relu)
        self._faked_calls: set | None = None  # the ReLU call to fake, found by the first read
        self.device, self.dtype = model_device(model), model_dtype(model)

    def reading(self, layers: str | Sequence[str]) -> "Representation":
        """The same model, normalisation, transform, fake ReLU and mode, reading ``layers``."""
        layers = (layers,) if isinstance(layers, str) else tuple(layers)
        if layers == self.layers:
            return self
        return Representation(self.model, layers, mean=self.mean, std=self.std, fake_relu=self.fake_relu_option,
                              transform=self.transform, keep_mode=self.keep_mode, forward_args=self.forward_args)

    def _fake_relu_modules(self, fake_relu, has_relu: bool) -> dict[str, nn.Module]:
        """Modules whose calls are faked: ``{}`` for ``True`` (found by a probe forward at first read)."""
        if fake_relu is False or fake_relu is None:
            return {}
        if fake_relu is True:
            if not has_relu:
                raise ValueError("fake_relu=True but the model has no nn.ReLU module (fake_relu='auto' fakes one "
                                 "only where there is)")
            return {}
        if isinstance(fake_relu, str):
            fake_relu = [fake_relu]
        if not isinstance(fake_relu, (list, tuple)) or not all(isinstance(n, str) for n in fake_relu):
            raise TypeError(f"fake_relu must be True, False, 'auto', a module name or a list of names, "
                            f"got {fake_relu!r}")
        modules = {name: resolve_layer(self.model, name) for name in fake_relu}
        for name, m in modules.items():
            if not isinstance(m, nn.ReLU):
                raise ValueError(f"fake_relu names {name!r}, a {type(m).__name__}, not an nn.ReLU module")
        return modules

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        if self.transform is not None:
            images = self.transform(images)
        if self.mean is not None:
            images = images - self.mean.to(images.device, images.dtype)
        if self.std is not None:
            images = images / self.std.to(images.device, images.dtype)
        return images

    @contextmanager
    def attached(self):
        """Within: the model frozen (eval, no parameter grads) and hooked; yields ``read(images)``."""
        acts: dict[str, torch.Tensor] = {}
        stash: dict[int, torch.Tensor] = {}
        calls: dict[int, int] = {}
        relu_calls: list[tuple[int, int]] = []  # (module id, call number) in the order they ran
        faked: set[tuple[int, int]] | None = None  # the calls to fake; None: every call of self.fake_relu
        probe = False  # whether the first read must find the last ReLU call before the layer
        handles = []

        def capture(name):
            def hook(module, inputs, output):
                acts.setdefault(name, _main_output(output, name))
                if len(acts) == len(self.layers):
                    raise _Captured

            return hook

        def is_faked(module) -> bool:
            call = (id(module), calls.get(id(module), 0))
            return faked is None or call in faked

        def keep_input(module, inputs):
            if not is_faked(module):
                return None
            stash[id(module)] = inputs[0]
            return (inputs[0].clone(),)  # an in-place ReLU must not overwrite the pre-activation

        def fake(module, inputs, output):
            call = (id(module), calls.get(id(module), 0))
            calls[call[0]] = call[1] + 1
            if faked is not None:
                relu_calls.append(call)
                if call not in faked:
                    return None
            return _FakeReLU.apply(stash.pop(id(module)))

        def forward(images):
            acts.clear()
            calls.clear()
            relu_calls.clear()
            try:
                output = self.model(self.normalize(images), *self.forward_args)
                if "" in self.layers:
                    acts[""] = _main_output(output, "")
            except _Captured:
                pass
            missing = [n for n in self.layers if n not in acts]
            if missing:
                raise RuntimeError(f"layers {missing} never ran in {type(self.model).__name__}.forward")
            return dict(acts)

        def read(images: torch.Tensor) -> dict[str, torch.Tensor]:
            nonlocal faked, probe
            if probe:  # first read: find the last ReLU call before the layer (kept for later reads)
                probe = False
                with torch.no_grad():
                    probed = forward(images)
                if not relu_calls and self.fake_relu_option is True:
                    raise ValueError("fake_relu=True but no nn.ReLU runs before the requested layers")
                faked = self._faked_calls = set(relu_calls[-1:])
                if not torch.is_grad_enabled():  # nothing flows back through this read: it was the read itself
                    return probed
            return forward(images)

        relus = dict(self.fake_relu)
        if self.fake_last_relu:
            faked = set() if self._faked_calls is None else self._faked_calls
            probe = self._faked_calls is None
            relus = {n: m for n, m in self.model.named_modules() if isinstance(m, nn.ReLU)}
        with frozen(self.model, eval_mode=not self.keep_mode):
            try:
                for m in relus.values():
                    handles.append(m.register_forward_pre_hook(keep_input))
                    handles.append(m.register_forward_hook(fake))
                for name, m in self._modules.items():
                    if name != "":  # the output is the forward's return value
                        handles.append(m.register_forward_hook(capture(name)))
                yield read
            finally:
                for h in handles:
                    h.remove()

    def __call__(self, images: torch.Tensor, *, grad: bool = False, name: str = "images") -> dict[str, torch.Tensor]:
        """One read of ``images`` (validated under ``name``, moved to the model's device and dtype),
        detached unless ``grad``."""
        check_images(images, name, channels=self.channels)
        with self.attached() as read, torch.set_grad_enabled(grad):
            return read(images.to(self.device, self.dtype))


def layer_shapes(model: nn.Module, images: torch.Tensor) -> list[tuple[str, tuple]]:
    """Every layer name a method can read (``''`` is the output) with the shape it reads there on
    ``images`` (N, C, H, W) (a layer run twice: its first output, as :class:`Representation`
    reads it), in the order the layers first run; the model comes back as it was. A TorchScript
    model (no hooks) gives only its output.

    Examples:
        >>> from torch import nn
        >>> layer_shapes(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()), torch.rand(1, 3, 5, 5))
        [('0', (1, 4, 3, 3)), ('1', (1, 36)), ('', (1, 36))]
    """
    from .model_state import frozen

    shapes: dict = {}

    def record(name):
        def hook(_module, _inputs, output):
            try:
                shapes.setdefault(name, tuple(_main_output(output, name).shape))
            except TypeError:  # a layer whose output holds no tensor cannot be read; it is not listed
                pass
        return hook

    scripted = isinstance(model, torch.jit.ScriptModule)
    handles = [] if scripted else [m.register_forward_hook(record(n)) for n, m in model.named_modules() if n]
    try:
        with frozen(model), torch.no_grad():
            out = _main_output(model(images), "")
    finally:
        for h in handles:
            h.remove()
    return [*shapes.items(), ("", tuple(out.shape))]
