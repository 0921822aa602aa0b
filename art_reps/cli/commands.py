"""One ``art-reps`` subcommand per method, on the embedded default: each writes a PNG grid
(inputs above results) and ``summary.json`` (settings, per-image losses) to its folder.

Examples:
    >>> import tempfile
    >>> from art_reps.cli.commands import run_method
    >>> summary = run_method("invert", out=tempfile.mkdtemp(), steps=5, per_class=1, progress=False)
    >>> summary["images"], summary["png"]
    (10, 'invert.png')
"""
from __future__ import annotations

from pathlib import Path

import torch

from .. import core, zoo
from ..data import digits_on_textures, lfw_faces, mean_spectrum, natural_photos
from ..studies.judging import balanced
from ..metrics.distances import JudgeDistance
from ..metrics import predict
from ..studies.report import rounded, saliency_to_image, save_grid, write_json
from ..core.checks import check_nonnegative, resolve_layer


def _inputs(per_class: int, ood: bool):
    """(images, labels): ``per_class`` test images of each class, or the photographs and faces (no labels)."""
    if ood:
        return torch.cat([natural_photos(), lfw_faces(n=6)]), None
    targets = balanced(per_class)
    return targets.images, targets.labels


def _invert(model, x, y, a):
    res = core.invert(model, x, layer=a["layer"], start=a["start"], steps=a["steps"], step_size=a["step_size"],
                      schedule=core.linear_decay(a["steps"]), seed=a["seed"], progress=a["progress"])
    return res, torch.cat([x, res.images]), len(x)


def _visualize(model, x, y, a):
    param = a["param"]
    if param == "maco":  # the magnitude of the embedded training images
        param = core.Maco(mean_spectrum(digits_on_textures("train").images))
    features, start = list(a["features"]), a["start"]
    if a["closeness"]:  # feature accentuation: each input image raises one of the features, staying near itself
        features, start = [features[i % len(features)] for i in range(len(x))], x
    res = core.visualize(model, layer=a["layer"], feature=features, start=start, steps=a["steps"], param=param,
                         closeness=a["closeness"], step_size=a["step_size"], seed=a["seed"], progress=a["progress"])
    shown = torch.cat([x, res.images]) if a["closeness"] else res.images
    return res, shown, len(x) if a["closeness"] else len(res.images)


def _interpolate(model, x, y, a):
    res = core.interpolate(model, x[0::2], x[1::2], layer=a["layer"], n=a["n"], start=a["start"], steps=a["steps"],
                           step_size=a["step_size"], schedule=core.linear_decay(a["steps"]), seed=a["seed"],
                           progress=a["progress"])
    return core.Result(res.images.flatten(0, 1), res.losses.flatten(), res.history), res.images.flatten(0, 1), a["n"]


def _manipulate(model, x, y, a):
    res = core.manipulate(model, x, layer=a["layer"], feature=a["feature"], cap=a["cap"], eps=a["eps"],
                          steps=a["steps"], step_size=a["step_size"], seed=a["seed"], progress=a["progress"])
    return res, torch.cat([x, res.images]), len(x)


def _sensitivity(model, x, y, a):
    grad = core.sensitivity(model, x, predict(model, x) if y is None else y)
    maps = saliency_to_image(grad)
    return core.Result(maps, grad.abs().flatten(1).sum(1), None), torch.cat([x, maps.expand_as(x)]), len(x)


def _iris(model, x, y, a):
    seeds = core.make_start(a["start"], x.shape, device=x.device, seed=a["seed"])
    distance = JudgeDistance(zoo.load_model(zoo.JUDGE, device=x.device)) if a["loss"] == "adversarial" else None
    res = core.iris(model, x, layer=a["layer"], loss=a["loss"], start=seeds, steps=a["steps"], distance=distance,
                    seed=a["seed"], progress=a["progress"])
    return res, torch.cat([x, seeds, res.images]), len(x)


METHODS = {
    "invert": (_invert, dict(start="noise", steps=300, step_size=0.05)),
    "visualize": (_visualize, dict(start="noise", steps=200, step_size=0.1, features=tuple(range(10)), param="pixel",
                                   closeness=0.0)),
    "interpolate": (_interpolate, dict(start="lerp", steps=300, step_size=0.05, n=8)),
    "manipulate": (_manipulate, dict(steps=100, step_size=0.05, feature=0, cap=1.0, eps=1.0)),
    "sensitivity": (_sensitivity, dict()),
    "iris": (_iris, dict(loss="regularizer-free", start="super-noise", steps=300)),
}


def method_layer(net, method: str, layer: str | None) -> str:
    """The layer a method reads (``None``: its default), checked against the model before any work:
    sensitivity maps are class-sensitivity maps, read at the output (``''``)."""
    default = "" if method == "sensitivity" else zoo.REPRESENTATION_LAYER
    layer = default if layer is None else layer
    if method == "sensitivity" and layer != "":
        raise ValueError(f"sensitivity maps are class-sensitivity maps of the model's output: layer must be '', "
                         f"got {layer!r}")
    resolve_layer(net, layer)
    return layer


def run_method(method: str, *, out=None, model: str = zoo.ROBUST, layer: str | None = None,
               per_class: int = 1, ood: bool = False, device: str = "cpu", seed: int = 0, progress: bool = True,
               **settings) -> dict:
    """Run ``method`` (a key of ``METHODS``) through an embedded model on one test image per class
    (or, ``ood=True``, the bundled photographs and faces); ``settings`` override the method's defaults;
    ``layer=None`` is the method's default (``'avgpool'``; ``''`` for sensitivity)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    run, defaults = METHODS[method]
    unknown = set(settings) - set(defaults)
    if unknown:
        raise ValueError(f"{method} takes no setting(s) {sorted(unknown)}; it takes {sorted(defaults)}")
    given = {k: v for k, v in settings.items() if v is not None}
    if "param" in given:  # refused before any model is loaded or folder made
        core.param.make_param(given["param"])
    if "closeness" in given:
        check_nonnegative(given["closeness"], "closeness")
    net = zoo.load_model(model, device=device)
    layer = method_layer(net, method, layer)
    x, y = _inputs(per_class, ood)
    args = {**defaults, **given, "layer": layer, "seed": seed,
            "progress": progress}
    out = Path(out or f"art_reps_{method}")
    out.mkdir(parents=True, exist_ok=True)
    res, grid, nrow = run(net, x.to(device), y, args)
    summary = rounded({"method": method, "model": model, "layer": layer, "images": len(res.images),
                       "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in args.items()
                                    if k != "progress"},
                       "losses": res.losses.tolist(), "png": save_grid(grid, out / f"{method}.png", nrow=nrow)})
    write_json(summary, out / "summary.json")
    return summary
