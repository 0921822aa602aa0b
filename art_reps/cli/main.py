"""The ``art-reps`` command."""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings


def _demo(args) -> int:
    from .demo import run_demo

    metrics = run_demo(args.out, standard=args.standard, robust=args.model, steps=args.steps, device=args.device,
                       seed=args.seed, progress=not args.quiet)
    print(json.dumps({"report": f"{args.out}/index.html", "recognised": metrics["recognised"],
                      "warning": metrics["warning"]}, indent=2))
    return 0


def _compare(args) -> int:
    from .compare import compare_models

    metrics = compare_models(args.model, out=args.out, weights=args.weights or [], layers=args.layer or [],
                             data=args.data, labels=args.labels, size=args.size, limit=args.limit, arch=args.arch,
                             num_classes=args.num_classes, mean=args.mean, std=args.std, steps=args.steps,
                             device=args.device, seed=args.seed, progress=not args.quiet)
    print(json.dumps({"report": f"{args.out}/index.html", "stir": metrics["stir"], "warning": metrics["warning"]},
                     indent=2))
    return 0


def _method(args) -> int:
    from ..core import METHODS
    from .methods import given_settings, run_method

    settings = given_settings(args, METHODS[args.command])
    summary = run_method(args.command, out=args.out, model=args.model, layer=args.layer, per_class=args.per_class,
                         ood=args.ood, data=args.data, labels=args.labels, size=args.size,
                         seeds=getattr(args, "seeds", None), **_loading(args), device=args.device, seed=args.seed,
                         autocast=args.autocast, progress=not args.quiet, **settings)
    losses = summary["losses"]
    said = {k: summary[k] for k in ("unreadable", "left_out") if summary.get(k)}
    print(json.dumps({"grid": f"{args.out or 'art_reps_' + args.command}/{summary['png']}", "images": summary["images"],
                      "mean_loss": round(sum(losses) / len(losses), 4), **said}, indent=2))
    return 0


def _batch(args) -> int:
    from ..core import METHODS
    from .batch import run_batch
    from .methods import given_settings

    settings = given_settings(args, METHODS[args.method])
    settings.pop("batch_size", None)  # a chunk of items is the method's batch
    summary = run_batch(args.method, out=args.out or f"art_reps_batch_{args.method}", data=args.data,
                        model=args.model, layer=args.layer, limit=args.limit, size=args.size, labels=args.labels,
                        **_loading(args),
                        batch_size=args.batch_size, device=args.device, seed=args.seed, autocast=args.autocast,
                        progress=not args.quiet, **settings)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary, indent=2))
    return 0


def _loading(args) -> dict:
    """How ``--model`` is loaded: the options every command with a model takes."""
    return {"weights": args.weights, "arch": args.arch, "num_classes": args.num_classes, "mean": args.mean,
            "std": args.std}


def _layers(args) -> int:
    import torch

    from ..core import layer_shapes
    from ..zoo import list_models
    from .methods import load_model_spec

    size = args.size or (32 if args.model in list_models() else 224)
    net, _ = load_model_spec(args.model, **_loading(args))
    rows = layer_shapes(net, torch.rand(1, 3, size, size))
    width = max(len(name) for name, _ in rows)
    print(f"# {args.model} at {size} x {size} px: every layer --layer can name ('' is the output), with the "
          "shape it reads")
    for name, shape in rows:
        print(f"{(name or repr('')).ljust(width)}  {tuple(shape)}")
    return 0


def models_table(cards: dict) -> str:
    """name -> model card, as a markdown table (``art-reps models``; the repository's README block)."""
    rows = ["| model | architecture | training | clean acc. | PGD-20 L2 0.25 | PGD-20 L2 0.5 | PGD-20 L2 1.0 | "
            "AutoAttack L2 (eps: acc.) | train time |", "|---|---|---|---|---|---|---|---|---|"]
    for name, card in cards.items():
        pgd = {p["eps"]: p["accuracy"] for p in card["pgd_accuracy"]}
        t = card["training"]
        training = (f"L2 PGD-{t['attack_steps']} eps {t['eps']}" if t["eps"] else
                    f"standard{', noise sd ' + str(t['noise_std']) if t['noise_std'] else ''}")
        if t.get("loss", "cross-entropy") != "cross-entropy":
            views = "digit views" if card["data"].startswith("digit_views") else "views of one image"
            training = f"SimCLR on {views} + linear probe, {training}"
        if card["data"].startswith("render_glyphs"):
            training += ", glyphs no model sees"
        if "smoothing" in card:
            training += f", answers by the vote of {card['smoothing']['samples']} noisy copies"
        options = card.get("architecture_options", {})
        architecture = card["architecture"] + "".join(
            [f", width {options['width']}" if "width" in options else "",
             ", no residuals" if options.get("residual") is False else ""])
        warmup = f" (eps warm-up {t['eps_warmup']})" if t.get("eps_warmup") else ""
        training += f", {t['epochs']} epochs{warmup}"
        training += f", seed {t['seed']}"
        if "init" in t:
            training += f", from {t['init'].removeprefix('the weights of ')}'s weights"
        cells = [f"{pgd[e]:.3f}" if e in pgd else "-" for e in (0.25, 0.5, 1.0)]
        aa = ", ".join(f"{a['eps']}: {a['accuracy']:.3f}" for a in card["autoattack_accuracy"]) or "-"
        rows.append(f"| `{name}` | {architecture} | {training} | {card['clean_accuracy']:.3f} | "
                    f"{' | '.join(cells)} | {aa} | {t['seconds'] / 60:.0f} min |")
    return "\n".join(rows)


def _models(args) -> int:
    from .. import zoo

    print(models_table({name: zoo.model_card(name) for name in zoo.list_models()}))
    return 0


def _inversion_steps() -> int:
    from ..core import METHODS

    return METHODS["invert"].defaults()["steps"]


def _robust() -> str:
    from ..zoo import ROBUST

    return ROBUST


def _add_run_options(parser) -> None:
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _check_device(device: str) -> None:
    """Refuse a device this machine cannot run on, before any work."""
    import torch

    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ValueError(f"--device {device!r} is not a torch device (e.g. cpu, cuda, cuda:1)") from None
    if kind == "meta":
        raise ValueError("--device 'meta' holds shapes, not values: no image can be made there; use cpu or cuda")
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
    if not available.get(kind, True):
        raise ValueError(f"--device {device!r}: no {kind} device is available on this machine; use --device cpu")


_LAYER_HELP = "layer name (default: {})"


_MODEL_HELP = ("the model (default: %(default)s): an embedded name, torchvision:NAME or timm:NAME with a "
               "weights file, madrylab:FILE or a TorchScript file")


def _add_model_options(p, size: bool = True) -> None:
    """--model and how it is loaded; --size when the command reads images."""
    p.add_argument("--model", default=_robust(), help=_MODEL_HELP)
    p.add_argument("--weights", default=None, help="the state dict of a torchvision:/timm: model (a local file)")
    p.add_argument("--arch", default=None, help="a madrylab: checkpoint's torchvision architecture (default: told "
                                                "from its weights)")
    p.add_argument("--num-classes", type=int, default=None, help="the classes the model scores (default: read from "
                                                                "its weights)")
    p.add_argument("--mean", nargs="+", default=None, help="per-channel mean the model expects: numbers or a preset "
                                                           "(imagenet, cifar10, none); default: the model's")
    p.add_argument("--std", nargs="+", default=None, help="per-channel std: numbers or a preset (default: the model's)")
    if size:
        p.add_argument("--size", type=int, default=None, help="resize images to SIZE x SIZE (default: as they are; "
                                                              "folders: 32)")


def _add_data_options(p, default=None) -> None:
    p.add_argument("--data", "--targets", default=default, help="a folder of images (searched recursively) instead "
                                                                "of the embedded test images")
    p.add_argument("--labels", default=None, help="a folder's labels: 'folders' (sub-folder names), 'none' or a "
                                                  "CSV with columns file,label (default: sub-folders if every "
                                                  "image lies in one)")


def _add_methods(sub) -> None:
    from ..core import METHODS
    from .methods import add_method_flags, default_layer, python_only, takes_seeds

    for name, method in METHODS.items():
        kept = python_only(method)
        epilog = (f"From Python only (left at their defaults here): {', '.join(kept)}." if kept else None)
        p = sub.add_parser(name, help=method.summary + "; through any model, writes a PNG grid and summary.json",
                           epilog=epilog)
        _add_model_options(p)
        p.add_argument("--layer", default=None, help=_LAYER_HELP.format(repr(default_layer(method))))
        p.add_argument("--per-class", type=int, default=1, help="test images per class (default: %(default)s)")
        p.add_argument("--ood", action="store_true", help="use the bundled photographs and faces instead")
        _add_data_options(p)
        if takes_seeds(method):
            p.add_argument("--seeds", default=None, help="a folder of start images, one per target of --data in "
                                                         "sorted order (instead of --start)")
        p.add_argument("--autocast", action="store_true", help="mixed precision (bfloat16 on CPU, float16 on CUDA)")
        p.add_argument("--out", default=None, help=f"output folder (default: art_reps_{name})")
        add_method_flags(p, method)
        _add_run_options(p)
        p.set_defaults(func=_method)


def _add_batch(sub) -> None:
    from .batch import batch_methods
    from .methods import add_method_flags, default_layer

    batch = sub.add_parser("batch", help="a method over a data set: resumable, sharded under torchrun")
    methods = batch.add_subparsers(dest="method", required=True)
    for name, method in batch_methods().items():
        p = methods.add_parser(name, help=f"{name} every image of --data; one PNG, tensor and manifest entry each")
        p.add_argument("--data", default="embedded",
                       help="'embedded', 'embedded:train' or a folder of images (default: %(default)s)")
        p.add_argument("--labels", default=None, help="a folder's labels: 'folders', 'none' or a CSV with columns "
                                                      "file,label (default: sub-folders if every image lies in one)")
        p.add_argument("--out", default=None, help=f"output folder (default: art_reps_batch_{name})")
        _add_model_options(p)
        p.add_argument("--layer", default=None, help=_LAYER_HELP.format(repr(default_layer(method))))
        p.add_argument("--limit", type=int, default=None, help="the first N readable images only")
        p.add_argument("--autocast", action="store_true", help="mixed precision (bfloat16 on CPU, float16 on CUDA)")
        add_method_flags(p, method)
        p.set_defaults(batch_size=16)
        _add_run_options(p)
        p.set_defaults(func=_batch)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="art-reps", description="Robust representations, on the command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="robust vs standard model report on the embedded default")
    demo.add_argument("--out", default="art_reps_demo", help="report folder (default: %(default)s)")
    demo.add_argument("--model", default=_robust(), help="robust embedded model (default: %(default)s)")
    demo.add_argument("--standard", default="standard", help="standard embedded model (default: %(default)s)")
    demo.add_argument("--steps", type=int, default=_inversion_steps(), help="optimisation steps (default: %(default)s)")
    _add_run_options(demo)
    demo.set_defaults(func=_demo)
    models = sub.add_parser("models", help="the embedded models and their cards, as a table")
    models.set_defaults(func=_models)
    compare = sub.add_parser("compare", help="two of your models side by side: inversions from the same seeds, "
                             "feature visualisations, sensitivity maps, STIR both ways and CKA; an HTML page")
    compare.add_argument("--model", action="append", required=True, help="a model specification, given twice: " +
                         _MODEL_HELP.split(": ", 1)[1])
    compare.add_argument("--weights", action="append", default=None, help="the state dict of each torchvision:/"
                         "timm: model, in the order of --model")
    compare.add_argument("--layer", action="append", default=None, help="the layer to read: once for both, or "
                         "once per model (default: avgpool)")
    compare.add_argument("--arch", default=None, help="a madrylab: checkpoint's torchvision architecture")
    compare.add_argument("--num-classes", type=int, default=None, help="the classes the models score")
    compare.add_argument("--mean", nargs="+", default=None, help="per-channel mean, numbers or a preset "
                                                                 "(default: each model's)")
    compare.add_argument("--std", nargs="+", default=None, help="per-channel std (default: each model's)")
    compare.add_argument("--size", type=int, default=None, help="resize images to SIZE x SIZE (default: as they "
                                                                "are; folders: 32)")
    _add_data_options(compare)
    compare.add_argument("--limit", type=int, default=30, help="the first N images of the folder (default: "
                                                               "%(default)s)")
    compare.add_argument("--steps", type=int, default=_inversion_steps(), help="optimisation steps "
                                                                               "(default: %(default)s)")
    compare.add_argument("--out", default="art_reps_compare", help="report folder (default: %(default)s)")
    _add_run_options(compare)
    compare.set_defaults(func=_compare)
    layers = sub.add_parser("layers", help="every layer of a model with its output shape: what --layer can name")
    _add_model_options(layers)
    layers.set_defaults(func=_layers)
    _add_methods(sub)
    _add_batch(sub)
    args = parser.parse_args(argv)
    with warnings.catch_warnings():  # a warning in one line, as an error is: no source path, no code line
        warnings.showwarning = lambda message, *_, **__: print(f"art-reps {args.command}: warning: {message}",
                                                               file=sys.stderr)
        warnings.simplefilter("ignore", DeprecationWarning)  # for developers (hidden by Python's defaults too)
        return _run(args)


def _run(args) -> int:
    import torch

    try:
        if getattr(args, "device", None) is not None:
            _check_device(args.device)
        return args.func(args)
    except (ValueError, TypeError, OSError, RuntimeError, IndexError) as e:
        print(f"art-reps {args.command}: error: {_last_line(e)}", file=sys.stderr)
        return 2
    except (AssertionError, torch.jit.Error) as e:  # a model's own check of its input (timm at another size, ...)
        print(f"art-reps {args.command}: error: the model refused its input: {_last_line(e)} "
              "(does --size match the size the model expects?)", file=sys.stderr)
        return 2


def _last_line(error: Exception) -> str:
    """An error in one line: its message's last line (a TorchScript model's error carries its
    serialised code above the message), or its type where it has none."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__

