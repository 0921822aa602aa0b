"""Every method of the registry (:data:`art_reps.core.METHODS`) on the command line.

The flags of ``art-reps <method>`` and ``art-reps batch <method>`` come from the method's
declaration: its public function's typed keywords (choices from their ``Literal`` types, defaults
from the signature) and the loop options, whose defaults are the method's recipe. How the command
line feeds a method is read from it too: ``Method.inputs`` take the data's images (``('a', 'b')``:
consecutive pairs), ``Method.labels`` the data's labels (or the model's predictions), and
``--start images`` begins from the data's images.

Examples:
    >>> import tempfile
    >>> summary = run_method("invert", out=tempfile.mkdtemp(), steps=5, per_class=1, progress=False)
    >>> summary["images"], summary["png"]
    (10, 'invert.png')
"""
from __future__ import annotations

import argparse
import inspect
import typing
from dataclasses import dataclass
from pathlib import Path

from ..core import METHODS, Method
from ..core.options import LOOP, Option

FAKE_RELU = {"auto": "auto", "true": True, "false": False}
SKIPPED = {"size", "axis", "representations", "regularizer"}  # keywords for Python callers only
START_IMAGES = "images"  # --start images: begin from the data's images
DISTANCES = ("judge", "ssim")


def _number(kind, minimum: float | None = None, positive: bool = False):
    """An argparse type that refuses, by its flag's name, what the method would refuse later."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an int' if kind is int else 'a number'}, got {text!r}")
        if value != value or value in (float("inf"), float("-inf")) or (positive and value <= 0) or (
                minimum is not None and value < minimum):
            bound = "> 0" if positive else f">= {minimum}"
            raise argparse.ArgumentTypeError(f"expected a finite number {bound}, got {text!r}")
        return value

    parse.__name__ = "int" if kind is int else "number"
    return parse


def _batch_size(text: str):
    return text if text == "auto" else _number(int, positive=True)(text)


def _lam(text: str):
    return text if text == "auto" else _number(float)(text)


@dataclass(frozen=True)
class Flag:
    """One command-line flag of a method: its keyword, argparse arguments and the shown default."""

    name: str
    options: dict

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _literal_choices(annotation) -> tuple | None:
    """The strings a (possibly unioned) ``Literal`` annotation allows, or ``None``."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    choices = [c for arg in typing.get_args(annotation) for c in (_literal_choices(arg) or ())]
    return tuple(choices) or None


def _own_flag(method: Method, name: str, parameter: inspect.Parameter, annotation) -> Flag | None:
    """The flag of one of the method's own keywords, or ``None`` for those only Python callers give."""
    default = parameter.default
    shown = f"(default: {default})"
    if name in SKIPPED or name in method.inputs or name == method.labels or name == "layer":
        return None
    if name == "feature":
        return Flag(name, dict(type=_number(int, minimum=0), nargs="+", required=True,
                               help="feature indices (channel or unit): one for every image, or repeated to the "
                                    "number of images"))
    if name == "start":
        kinds = [k for k in (_literal_choices(annotation) or ())] + [START_IMAGES]
        own = "(default: the parameterisation's own)" if default is None else shown
        return Flag(name, dict(choices=kinds, help=f"start images: a kind, or 'images' for the data's own {own}"))
    if name == "distance":
        return Flag(name, dict(choices=DISTANCES, help="the distance the adversarial regulariser pushes up: a judge "
                                                       "network's features (independent of the models) or 1 - SSIM "
                                                       "(default: judge)"))
    if name == "lam":
        return Flag(name, dict(type=_lam, help=f"'auto' or a number {shown}"))
    if name == "cap":
        return Flag(name, dict(type=_number(float), help=shown))
    choices = _literal_choices(annotation)
    if choices:
        return Flag(name, dict(choices=choices, help=shown))
    if isinstance(default, bool):
        return Flag(name, dict(action=argparse.BooleanOptionalAction, help=shown))
    if isinstance(default, int):
        return Flag(name, dict(type=_number(int, positive=True), help=shown))
    if isinstance(default, float):
        return Flag(name, dict(type=_number(float, minimum=0.0), help=shown))
    return None


def _loop_flag(name: str, option: Option, default) -> Flag:
    """The flag of a loop option (:data:`art_reps.core.options.LOOP`), showing the method's recipe."""
    if option.choices:
        parse = dict(choices=option.choices)
    else:
        parse = dict(type=_number(option.kind or float, positive=True))
    return Flag(name, dict(help=f"{option.help} (default: {default})", **parse))


def method_flags(method: Method) -> list[Flag]:
    """Every flag of ``method``: its own keywords, then the loop and reading options with the recipe
    shown as their defaults."""
    hints = typing.get_type_hints(method.function)
    flags = [f for name, p in method.parameters.items() if (f := _own_flag(method, name, p, hints.get(name)))]
    recipe = method.defaults()
    if method.optimises:
        flags += [_loop_flag(name, option, recipe.get(name, option.default))
                  for name, option in LOOP.items() if option.cli]
    flags += [Flag("fake_relu", dict(choices=sorted(FAKE_RELU), help=f"(default: {recipe.get('fake_relu', False)})")),
              Flag("batch_size", dict(type=_batch_size, help="images per chunk, or 'auto' (default: all at once)"))]
    return flags


def python_only(method: Method) -> list[str]:
    """The method's own keywords that have no flag (the command line leaves them at their defaults)."""
    flagged = {flag.name for flag in method_flags(method)}
    given = {*method.inputs, method.labels, "layer"}
    return [name for name in method.parameters if name not in flagged and name not in given]


def add_method_flags(parser: argparse.ArgumentParser, method: Method) -> None:
    for flag in method_flags(method):
        parser.add_argument(flag.flag, dest=flag.name, default=None, **flag.options)


def given_settings(args: argparse.Namespace, method: Method) -> dict:
    """The flags the user gave (the method's defaults stand for the rest)."""
    return {f.name: getattr(args, f.name) for f in method_flags(method) if getattr(args, f.name, None) is not None}


def check_settings(method: Method, settings: dict) -> None:
    """Refuse unknown or bad settings by name, before any model is loaded or folder made."""
    known = {f.name for f in method_flags(method)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"{method.name} takes no setting(s) {unknown}; it takes {sorted(known)}")
    method.check(**to_keywords(settings, None))


def to_keywords(settings: dict, images) -> dict:
    """Command-line settings as the method's keywords: choices to values, 'images' starts to the data."""
    keywords = dict(settings)
    if "fake_relu" in keywords:
        keywords["fake_relu"] = FAKE_RELU[keywords["fake_relu"]]
    if images is None:  # checking names and options only
        return keywords
    if keywords.get("start") == START_IMAGES:
        keywords["start"] = images
    if keywords.get("param") == "maco":
        from ..core import Maco
        from ..data import digits_on_textures, mean_spectrum

        keywords["param"] = Maco(mean_spectrum(digits_on_textures("train").images))
    if "distance" in keywords or keywords.get("loss") == "adversarial":
        keywords["distance"] = _distance(keywords.get("distance", "judge"), images.device)
    return keywords


def _distance(name: str, device):
    from .. import zoo
    from ..metrics.distances import JudgeDistance, ssim_distance

    return ssim_distance if name == "ssim" else JudgeDistance(zoo.load_model(zoo.JUDGE, device=device))


def seeded(method: Method, seed: int, first: int = 0) -> dict:
    """``{'seed': seed}`` for a method that draws anything (one with a loop), else nothing; with
    ``first``, the index of the call's first item in the run (a batch job's chunk)."""
    if not method.optimises:
        return {}
    return {"seed": seed, "first": first} if first else {"seed": seed}


def default_layer(method: Method) -> str:
    from .. import zoo

    layer = method.parameters["layer"].default
    return zoo.REPRESENTATION_LAYER if layer is inspect.Parameter.empty else layer


def check_layer(method: Method, net, layer: str | None) -> str:
    """The layer a method reads (``None``: its default), checked against the model before any work:
    a method that takes the data's labels reads classes, at the output (``''``)."""
    from ..core.checks import resolve_layer

    layer = default_layer(method) if layer is None else layer
    if method.labels and layer != "":
        raise ValueError(f"{method.name} takes the data's labels as classes of the model's output: layer must be '', "
                         f"got {layer!r}")
    resolve_layer(net, layer)
    return layer


def feed(method: Method, images, labels, net, settings: dict, per_image: bool = False) -> dict:
    """The method's keywords from the data: ``images`` (N, C, H, W), ``labels`` (N,) or ``None``
    (the model's predictions stand in), and the command-line ``settings`` (with the model's ``mean``
    and ``std``, which its predictions use too); a list of features is
    repeated to one per image where the method runs on the images (``per_image``: they are its starts)."""
    keywords = to_keywords(settings, images)
    if method.inputs == ("a", "b"):
        if len(images) < 2:
            raise ValueError(f"{method.name} takes pairs of images: give at least two")
        keywords.update(a=images[0:len(images) - 1:2], b=images[1::2])
    else:
        keywords.update({name: images for name in method.inputs})
    if method.labels:
        if labels is None or bool((labels < 0).any()):
            from ..metrics import predict

            predicted = predict(net, images, **{k: keywords[k] for k in ("mean", "std") if k in keywords})
            labels = predicted if labels is None else labels.where(labels >= 0, predicted)
        keywords[method.labels] = labels
    if "feature" in keywords and isinstance(keywords["feature"], (list, tuple)):
        features = list(keywords["feature"])
        per_image = per_image or settings.get("start") == START_IMAGES or bool(method.inputs)
        count = len(images) if per_image else len(features)
        keywords["feature"] = features[0] if len(features) == 1 else [features[i % len(features)] for i in range(count)]
    return keywords


def grid(method: Method, keywords: dict, result):
    """(images, nrow) of a PNG grid: the inputs (and start images) above the results."""
    import torch

    from .report import saliency_to_image

    if isinstance(result, torch.Tensor):  # a sensitivity map
        maps = saliency_to_image(result)
        inputs = keywords[method.inputs[0]]
        return torch.cat([inputs, maps.expand_as(inputs)]), len(inputs)
    if result.images.dim() == 5:  # interpolation paths, one row each
        return result.images.flatten(0, 1), result.images.shape[1]
    rows = [keywords[name] for name in method.inputs]
    if isinstance(keywords.get("start"), torch.Tensor) and not any(keywords["start"] is r for r in rows):
        rows.append(keywords["start"])
    rows.append(result.images)
    return torch.cat(rows), len(result.images)


def per_item(method: Method, result):
    """(outputs (N, ...), per-image losses or map magnitudes (N,)) of a method's result."""
    import torch

    if isinstance(result, torch.Tensor):
        return result, result.abs().flatten(1).sum(1)
    if result.images.dim() == 5:
        return result.images.flatten(0, 1), result.losses.flatten()
    return result.images, result.losses


def _inputs(per_class: int, ood: bool, data: str | None, labels: str | None, size: int | None):
    """(images, labels, about): ``per_class`` test images of each class, the photographs and faces
    (no labels), or the images of a ``data`` folder (labels -1 where unknown), at ``size`` px if
    given; ``about`` says, for a folder, which files could not be read, what was changed in others
    and which sub-folder is which class."""
    import torch

    from ..data import lfw_faces, natural_photos
    from ..data.folders import load_items, resized
    from ..data import balanced

    if data is not None:
        items = load_items(data, size=size, labels=labels)
        about = {"unreadable": items.unreadable, "notes": items.notes, "classes": items.classes}
        return items.images, items.labels, {k: v for k, v in about.items() if v}
    if ood:
        images, y = torch.cat([natural_photos(), lfw_faces(n=6)]), None
    else:
        targets = balanced(per_class)
        images, y = targets.images, targets.labels
    return resized(images, size), y, {}


def takes_seeds(method: Method) -> bool:
    """Whether ``--seeds`` (a folder of start images, one per target) applies: a start, one input."""
    return "start" in method.parameters and len(method.inputs) == 1


def _seed_images(method: Method, seeds: str | None, settings: dict, images):
    """The start images of a ``seeds`` folder, checked against the method and the targets."""
    if seeds is None:
        return None
    from ..data.folders import load_items

    if not takes_seeds(method):
        raise ValueError(f"{method.name} does not start from images: --seeds is for "
                         f"{sorted(n for n, m in METHODS.items() if takes_seeds(m))}")
    if "start" in settings:
        raise ValueError("give --seeds (a folder of start images) or --start, not both")
    found = load_items(seeds, size=images.shape[-1], labels="none").images
    if method.inputs and len(found) != len(images):
        raise ValueError(f"--seeds holds {len(found)} images but there are {len(images)} targets: one seed per target, "
                         "in the same (sorted) order")
    return found


def load_model_spec(model: str | None, device: str = "cpu", **loading):
    """The model a ``--model`` specification names (:func:`art_reps.zoo.specs.load_spec`; default: the
    robust embedded model) on ``device``, and the reading options of its normalisation."""
    from .. import zoo
    from ..zoo.specs import load_spec

    loaded = load_spec(model or zoo.ROBUST, **loading)
    reading = {k: v for k, v in (("mean", loaded.mean), ("std", loaded.std)) if v is not None}
    return loaded.model.to(device), reading


def run_method(name: str, *, out=None, model: str | None = None, layer: str | None = None, per_class: int = 1,
               ood: bool = False, data: str | None = None, labels: str | None = None, size: int | None = None,
               seeds: str | None = None, weights=None, arch: str | None = None, num_classes: int | None = None,
               mean=None, std=None, device: str = "cpu", seed: int = 0, autocast: bool = False, progress: bool = True,
               **settings) -> dict:
    """Run the method ``name`` through a model (``model``: a specification of
    :func:`art_reps.zoo.specs.load_spec`, with ``weights``, ``arch``, ``num_classes``, ``mean``
    and ``std``) on ``per_class`` test images per class, the bundled photographs and faces
    (``ood=True``) or the images of a ``data`` folder (``labels`` as :func:`art_reps.data.folders.load_items`
    reads them), resized to ``size`` if given; ``seeds``, a folder of start images (one per target,
    in the same order) for a method that starts from images; ``settings`` are its flags (defaults:
    the method's).
    Writes ``<name>.png`` (inputs above results) and ``summary.json`` to ``out``, made only once the
    results exist."""
    from .. import zoo
    from ..core.checks import check_count
    from .report import rounded, save_grid, write_json

    if name not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {name!r}")
    method = METHODS[name]
    settings = {k: v for k, v in settings.items() if v is not None}
    check_settings(method, settings)
    if size is not None and "size" in method.parameters:  # images made from nothing (visualize) are --size px too
        settings["size"] = (3, check_count(size, "size"), size)
    check_count(per_class, "per_class", maximum=100)
    net, reading = load_model_spec(model, device, weights=weights, arch=arch, num_classes=num_classes, mean=mean,
                                   std=std)
    layer = check_layer(method, net, layer)
    x, y, about = _inputs(per_class, ood, data, labels, size)
    if method.inputs == ("a", "b") and len(x) % 2:
        about["left_out"] = (f"{name} takes images in pairs (first and second, third and fourth, ...): the last of "
                             f"the {len(x)} images has no partner and is left out")
    starts = _seed_images(method, seeds, settings, x)
    keywords = feed(method, x.to(device), None if y is None else y.to(device), net, {**settings, **reading})
    if starts is not None:
        keywords["start"] = starts.to(device)
    result = method(net, layer=layer, progress=progress, **({"autocast": True} if autocast else {}),
                    **seeded(method, seed), **keywords)
    outputs, losses = per_item(method, result)
    images, nrow = grid(method, keywords, result)
    out = Path(out or f"art_reps_{name}")
    out.mkdir(parents=True, exist_ok=True)
    summary = rounded({"method": name, "model": model or zoo.ROBUST, "layer": layer, "images": len(outputs),
                       **({"data": data} if data is not None else {}), **({"weights": str(weights)} if weights else {}),
                       **about, **reading, "autocast": bool(autocast),
                       "settings": {**method.defaults(**settings), **settings, "seed": seed},
                       "losses": losses.tolist(), "png": save_grid(images, out / f"{name}.png", nrow=nrow)})
    write_json(summary, out / "summary.json")
    return summary
