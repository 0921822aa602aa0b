"""Captum attribution methods: representation sensitivity maps and feature visualisations.

They follow Captum's ``attribute(inputs, target=None, ...)`` contract, so ``NoiseTunnel``,
``visualize_image_attr`` and ``captum.metrics`` take them as they take ``Saliency``. ``target``
selects a feature of ``layer`` as Captum's targets do: an int or a tuple is one index for every
example (a channel; a flattened unit or a (c, y, x) tuple with ``kind='neuron'``), a list or (N,)
tensor one per example; with ``kind='direction'`` it is a direction tensor. With ``layer=''`` and
``kind='channel'`` the target is a class of the model's output. As Captum's layer methods, they
take the layer as a name or as the module itself, and ``device_ids``; an invalid target raises an
error that is both a ``ValueError`` and Captum's ``AssertionError``; a negative target counts from
the end, and ``additional_forward_args`` go to the model after the inputs, as Captum's own methods
do. The model is read in the mode the caller left it (call ``model.eval()`` first, as with
``Saliency``, to read a BatchNorm model as the papers do) and comes back as it was. Each
runs a method of :mod:`art_reps.core.methods` (``sensitivity``, ``visualize``).

Examples:
    >>> import art_reps
    >>> model = art_reps.load_model("l2_eps1")
    >>> x = art_reps.data.digits_on_textures("test").images[:2]
    >>> RepresentationSensitivity(model, "layer3").attribute(x, target=5).shape
    torch.Size([2, 3, 32, 32])
"""
from __future__ import annotations

import numbers

import torch

from .extras import missing_extra

try:
    from captum._utils.common import (_format_additional_forward_args, _format_output, _format_tensor_into_tuples,
                                      _is_tuple)
    from captum.attr._utils.attribution import Attribution, GradientAttribution
    from captum.log import log_usage
except ImportError as error:
    raise missing_extra(error, "captum") from error

from .core import Representation, sensitivity, visualize
from .core.objectives import FeatureIndexError, feature_index


class TargetError(ValueError, AssertionError):
    """An invalid target: a ``ValueError`` as art_reps raises, an ``AssertionError`` as Captum does."""


def _target(target, kind: str, n: int):
    """Captum's target conventions, as :func:`art_reps.core.objectives.feature_index` reads them."""
    if target is None:
        raise TargetError("target must select a feature (int, tuple, list or tensor), got None")
    if kind != "direction":
        if isinstance(target, tuple) and kind == "channel":
            if len(target) != 1:
                raise TargetError(f"target {target!r}: a tuple is one index for every example; kind='channel' takes "
                                  "(c,), a (c, y, x) unit needs kind='neuron'")
            target = target[0]
        if isinstance(target, torch.Tensor):
            if target.is_floating_point() or target.is_complex():
                raise TargetError(f"target must hold integer indices, got a tensor of dtype {target.dtype}")
            target = int(target) if target.numel() == 1 else target.flatten().tolist()
        if isinstance(target, list):
            if len(target) != n:
                raise TargetError(f"target is a list of {len(target)} indices for {n} examples: give one per "
                                  "example, or an int for all")
            ints = all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in target)
            tuples = all(isinstance(t, tuple) and all(isinstance(i, numbers.Integral) for i in t) for t in target)
            if not (ints or tuples):
                raise TargetError(f"a target list holds one int (or one tuple) per example, got {target!r}")
            target = torch.tensor(target, dtype=torch.long)
    try:
        return feature_index(target, kind, n=n, name="target")
    except (TypeError, ValueError) as e:
        raise TargetError(str(e)) from e


def _layer_name(model: torch.nn.Module, layer) -> str:
    """A layer given as a name, or as the module itself (as Captum's layer methods take it)."""
    if isinstance(layer, torch.nn.Module):
        name = next((n for n, m in model.named_modules() if m is layer), None)
        if name is None:
            raise ValueError(f"layer {type(layer).__name__} is not a submodule of the model")
        return name
    return layer


class _RepresentationMethod:
    def __init__(self, model: torch.nn.Module, layer="", *, kind: str = "channel", mean=None, std=None,
                 fake_relu=False, device_ids=None):
        layer = _layer_name(model, layer)
        self.representation = Representation(model, layer, mean=mean, std=std, fake_relu=fake_relu)
        self.model, self.layer, self.kind, self.device_ids = model, layer, kind, device_ids
        # the model is read in the mode the caller left it, as Captum's own methods read it
        self.reading = {"mean": mean, "std": std, "fake_relu": fake_relu, "keep_mode": True}

    @staticmethod
    def _single_input(inputs):
        is_tuple, inputs = _is_tuple(inputs), _format_tensor_into_tuples(inputs)
        if len(inputs) != 1:
            raise ValueError(f"inputs must be one image tensor (N, C, H, W), got a tuple of {len(inputs)}")
        return is_tuple, inputs[0]

    def _run(self, function, *args, additional_forward_args=None, **arguments):
        """``function`` on the model; ``additional_forward_args`` go to the model after the images,
        as Captum's own methods pass them."""
        extra = _format_additional_forward_args(additional_forward_args)
        try:
            return function(self.model, *args, layer=self.layer, kind=self.kind, progress=False, **self.reading,
                            forward_args=tuple(extra or ()), **arguments)
        except FeatureIndexError as e:
            raise TargetError(str(e)) from e


class RepresentationSensitivity(_RepresentationMethod, GradientAttribution):
    """Gradient of a feature of ``layer`` with respect to the input: a sensitivity map
    (Engstrom et al.); with ``layer=''`` a class-sensitivity map, which through a (low-eps)
    robust model localises objects (Aggarwal et al.). ``fake_relu`` as in the core.

    ``attribute(inputs (N, C, H, W), target, abs=False) -> (N, C, H, W)``.
    """

    def __init__(self, model, layer="", **kwargs):
        GradientAttribution.__init__(self, model)
        _RepresentationMethod.__init__(self, model, layer, **kwargs)

    @log_usage()
    def attribute(self, inputs, target=None, abs: bool = False, additional_forward_args=None):
        is_tuple, x = self._single_input(inputs)
        grad = self._run(sensitivity, x, _target(target, self.kind, len(x)),
                         additional_forward_args=additional_forward_args)
        return _format_output(is_tuple, (grad.abs() if abs else grad,))

    def attribute_future(self):
        raise NotImplementedError("attribute_future is not implemented for RepresentationSensitivity")


class FeatureVisualization(_RepresentationMethod, Attribution):
    """The input optimised, from ``inputs``, to maximise the ``target`` feature of ``layer``: its
    "attribution" is the image the feature wants, optimised from ``inputs`` clipped to [0, 1]
    (Captum's noise tunnels add noise that leaves the range), by :func:`art_reps.visualize` with its
    recipe unless ``options`` say otherwise (steps, step_size, geometry, eps, param such as
    ``'maco'``, optimizer, ...); ``closeness`` > 0 keeps each result near its input (feature
    accentuation).

    ``attribute(inputs (N, C, H, W) in [0, 1], target, closeness=0.0, **options) -> (N, C, H, W)``.
    """

    def __init__(self, model, layer, **kwargs):
        Attribution.__init__(self, model)
        _RepresentationMethod.__init__(self, model, layer, **kwargs)

    @log_usage()
    def attribute(self, inputs, target=None, additional_forward_args=None, closeness: float = 0.0, **options):
        is_tuple, x = self._single_input(inputs)
        res = self._run(visualize, feature=_target(target, self.kind, len(x)), start=x.clamp(0, 1),
                        closeness=closeness, additional_forward_args=additional_forward_args, **options)
        return _format_output(is_tuple, (res.images,))

    def attribute_future(self):
        raise NotImplementedError("attribute_future is not implemented for FeatureVisualization")
