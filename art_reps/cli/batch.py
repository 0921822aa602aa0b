"""Batch jobs over a data set: one process or many (``torchrun``), resumable, written atomically.

    art-reps batch invert --data embedded --limit 200 --out runs/invert
    torchrun --nproc_per_node=2 -m art_reps.cli batch invert --data embedded --limit 200 --out runs/invert

Items are cut into chunks of ``batch_size`` by their index and chunk k runs on rank
``k % world_size``; every item's start is drawn from its own seed. So a chunk is the same batch
whatever the number of processes, and the outputs are the same bits. Each item writes
``items/<id>.safetensors`` (the exact output tensor and its start), ``items/<id>.png`` and, last,
``items/<id>.json`` (its manifest entry: loss, settings, rank); every file appears by an atomic
rename, so a killed run leaves only whole items and rerunning the same command skips them.
At the end rank 0 writes ``manifest.json`` (settings, every item, a summary). Every method of the
registry that takes one image per item runs here (``interpolate`` takes pairs): the item's image
is its input, or, for ``visualize``, its start; methods with a start kind draw each item's start
by the item's index, so a start does not depend on the chunk.

Examples:
    >>> import tempfile
    >>> from art_reps.cli.batch import run_batch
    >>> s = run_batch("invert", data="embedded", limit=4, batch_size=2, steps=3, out=tempfile.mkdtemp(), progress=False)
    >>> s["items"], s["done_now"], s["skipped"]
    (4, 4, 0)
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist

from .. import core, zoo
from ..core import METHODS, Method
from ..core.checks import check_count
from ..data.folders import Items, load_items
from ..metrics import probabilities
from .report import publish, rounded, saliency_to_image, write_json
from .methods import check_layer, check_settings, feed, load_model_spec, per_item, seeded

def batch_methods() -> dict[str, Method]:
    """The registry's methods that take one image per item (all but those that take pairs)."""
    return {name: m for name, m in METHODS.items() if len(m.inputs) <= 1}


def _starts(method: Method, settings: dict, items: torch.Tensor, first: int, seed: int):
    """The chunk's start images (items ``first``, ``first + 1``, ... drawn by their index), the
    items themselves where the method begins from its input, or ``None`` (no start to record)."""
    kind = settings.get("start", method.parameters["start"].default if "start" in method.parameters else None)
    if kind == "images" or (not method.inputs and "start" in method.parameters):
        return items
    if isinstance(kind, str):
        return core.make_start(kind, items.shape, seed=seed, first=first).to(items.device)
    return None


def _distributed(device: str):
    """(rank, world size, device, whether this call set up the process group) from torchrun's env."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = device.startswith("cuda")
    if cuda and world > 1 and device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    owned = world > 1 and not dist.is_initialized()
    if owned:
        dist.init_process_group("nccl" if cuda else "gloo")
    return rank, world, device, owned


def _barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


class _Writer:
    """Atomic writes into ``out/items`` through ``out/.partial`` (same file system, so rename is atomic)."""

    def __init__(self, out: Path, rank: int):
        self.items, self.partial, self.rank = out / "items", out / ".partial", rank

    def paths(self, item_id: str) -> dict:
        return {k: self.items / f"{item_id}.{k}" for k in ("safetensors", "png", "json")}

    def done(self, item_id: str) -> bool:
        return all(p.exists() for p in self.paths(item_id).values())

    def _place(self, path: Path, write) -> None:
        tmp = self.partial / f"{self.rank}-{path.name}"
        write(tmp)
        publish(tmp, path)

    def write(self, item_id: str, tensors: dict, png: torch.Tensor, entry: dict) -> None:
        from safetensors.torch import save_file
        from torchvision.utils import save_image

        p = self.paths(item_id)
        self._place(p["safetensors"], lambda t: save_file({k: v.contiguous() for k, v in tensors.items()}, str(t)))
        self._place(p["png"], lambda t: save_image(png.float().clamp(0, 1), str(t)))
        self._place(p["json"], lambda t: write_json(entry, t))


def _prepare(out: Path, settings: dict, rank: int, world: int) -> None:
    """Rank 0 records the settings (or keeps the recorded ones) and clears half-written files;
    every rank then refuses to resume a run made with other settings."""
    started = (out / "items").is_dir() and any((out / "items").glob("*.json"))
    if (out / "settings.json").exists() and started:  # a folder with settings but no item starts afresh
        recorded = json.loads((out / "settings.json").read_text())
        if recorded != settings:
            changed = sorted(k for k in set(recorded) | set(settings) if recorded.get(k) != settings.get(k))
            raise ValueError(f"out {str(out)!r} holds a run with other settings ({', '.join(changed)} differ); "
                             "rerun with the same settings to resume, or choose a new --out")
    _barrier(world)
    if rank == 0:
        (out / "items").mkdir(parents=True, exist_ok=True)
        (out / ".partial").mkdir(exist_ok=True)
        for stale in (out / ".partial").iterdir():
            stale.unlink()
        if not started:
            write_json(settings, out / "settings.json")
    _barrier(world)


def run_batch(method: str, *, out, data: str = "embedded", model: str = zoo.ROBUST,
              layer: str | None = None, limit: int | None = None, size: int | None = None, labels: str | None = None,
              weights=None, arch: str | None = None, num_classes: int | None = None, mean=None, std=None,
              batch_size: int = 16, device: str = "cpu", seed: int = 0, autocast: bool = False,
              progress: bool = True, **settings) -> dict:
    """Run ``method`` (a key of :func:`batch_methods`) over ``data`` into ``out``; under ``torchrun``
    each rank takes its chunks. Returns the summary (also in ``manifest.json``), the same on every
    rank. ``model`` is a specification of :func:`art_reps.zoo.specs.load_spec` (with ``weights``,
    ``arch``, ``num_classes``, ``mean``, ``std``); ``settings`` are the method's command-line flags
    (:mod:`art_reps.cli.methods`); ``layer=None`` is the method's default. Every argument is
    checked, on the first item, before ``out`` is touched."""
    methods = batch_methods()
    if method not in methods:
        hint = " (interpolate takes pairs of images, not one per item)" if method in METHODS else ""
        raise ValueError(f"method must be one of {sorted(methods)}, got {method!r}{hint}")
    spec = methods[method]
    settings = {k: v for k, v in settings.items() if v is not None}
    check_settings(spec, settings)
    batch_size = check_count(batch_size, "batch_size")
    seed = check_count(seed, "seed", minimum=0, maximum=2 ** 63 - 1)
    loading = {"weights": None if weights is None else str(weights), "arch": arch, "num_classes": num_classes,
               "mean": mean, "std": std}
    net, reading = load_model_spec(model, **loading)
    layer = check_layer(spec, net, layer)
    items = load_items(data, size=size, limit=limit, labels=labels)
    _check_first_item(spec, net, items, layer, {**settings, **reading}, seed)
    recorded = {"method": method, "data": data, "model": model, "limit": limit, "size": size, "labels": labels,
                "loading": loading, "batch_size": batch_size, "seed": seed, "layer": layer,
                "autocast": bool(autocast), **settings}
    rank, world, device, owned = _distributed(device)
    try:
        return _run(spec, items, Path(out), recorded, settings, rank, world, device, progress)
    finally:
        if owned:
            dist.destroy_process_group()


def _keywords(spec: Method, net, x, labels, settings: dict, first: int, seed: int) -> tuple[dict, torch.Tensor]:
    """The method's keywords for a chunk of items ``x`` (from item ``first``), and the recorded starts."""
    starts = _starts(spec, settings, x, first, seed)
    keywords = feed(spec, x, labels, net, {k: v for k, v in settings.items() if k != "start"},
                    per_image=starts is x)
    if starts is not None and "start" in spec.parameters:
        keywords["start"] = starts
    return keywords, x if starts is None else starts


def _check_first_item(spec: Method, net, items: Items, layer: str, settings: dict, seed: int) -> None:
    """Refuse, before any folder is touched, what the method would refuse on the first item, an
    input the model refuses (its forward on the first item), and any item's label outside the
    model's classes."""
    keywords, _ = _keywords(spec, net, items.images[:1], items.labels[:1], settings, 0, seed)
    spec.prepare(spec.bind(net, layer=layer, **seeded(spec, seed), **keywords))
    scores = probabilities(net, items.images[:1], **{k: settings[k] for k in ("mean", "std") if k in settings})
    classes = scores.shape[1] if scores.dim() == 2 else None
    if classes is not None and spec.labels and bool((items.labels >= classes).any()):
        i = int(torch.nonzero(items.labels >= classes)[0])
        raise ValueError(f"labels: item {items.ids[i]!r} has label {int(items.labels[i])}, but the model scores "
                         f"{classes} classes (labels must be in [0, {classes - 1}], or -1 for its own prediction)")


def _run(spec: Method, items: Items, out: Path, recorded: dict, settings: dict, rank, world, device,
         progress) -> dict:
    started = time.perf_counter()
    _prepare(out, recorded, rank, world)
    net, reading = load_model_spec(recorded["model"], device, **recorded["loading"])
    writer = _Writer(out, rank)
    n, b = len(items.ids), recorded["batch_size"]
    mine = [range(s, min(s + b, n)) for k, s in enumerate(range(0, n, b)) if k % world == rank]
    done_now = skipped = 0
    bar = core.bar(total=sum(map(len, mine)), desc=f"{recorded['method']} rank {rank}/{world}", position=rank,
               show=progress)
    with bar:
        for chunk in mine:
            todo = [i for i in chunk if not writer.done(items.ids[i])]
            skipped += len(chunk) - len(todo)
            if todo:  # the whole chunk runs again, so the batch (and every bit) is the one of a fresh run
                t0 = time.perf_counter()
                idx = torch.tensor(list(chunk))
                x = items.images[idx].to(device)
                keywords, starts = _keywords(spec, net, x, items.labels[idx].to(device), {**settings, **reading},
                                             chunk.start, recorded["seed"])
                result = spec(net, layer=recorded["layer"], autocast=recorded["autocast"], progress=False,
                              **seeded(spec, recorded["seed"], chunk.start), **keywords)
                outputs, values = per_item(spec, result)
                pngs = saliency_to_image(outputs) if isinstance(result, torch.Tensor) else outputs
                info = {"loss" if spec.optimises else "magnitude": values}
                if spec.labels:
                    info[spec.labels] = keywords[spec.labels]
                seconds = (time.perf_counter() - t0) / len(chunk)
                for j, i in enumerate(chunk):
                    if i in todo:
                        entry = {"id": items.ids[i], "index": i, "label": int(items.labels[i]),
                                 **{k: v[j].item() for k, v in info.items()}, "rank": rank, "world_size": world,
                                 "seconds": seconds, "settings": recorded}
                        writer.write(items.ids[i], {"output": outputs[j].cpu(), "start": starts[j].cpu()},
                                     pngs[j].cpu(), entry)
                done_now += len(todo)
            bar.update(len(chunk))
    counts: list = [(done_now, skipped)]
    if world > 1:  # also the barrier: every rank has written its items
        counts = [None] * world
        dist.all_gather_object(counts, (done_now, skipped))
    entries = [json.loads(writer.paths(i)["json"].read_text()) for i in items.ids]
    losses = [e["loss"] for e in entries if "loss" in e]
    summary = rounded({"method": recorded["method"], "items": n, "done_now": sum(c[0] for c in counts),
                       "skipped": sum(c[1] for c in counts), "world_size": world,
                       "seconds": time.perf_counter() - started,
                       "mean_loss": sum(losses) / len(losses) if losses else None,
                       "unreadable": len(items.unreadable),
                       "manifest": str(out / "manifest.json")})
    if rank == 0:
        write_json({"settings": recorded, "summary": summary,
                    "items": [{k: v for k, v in e.items() if k != "settings"} for e in entries],
                    "unreadable": items.unreadable, "notes": items.notes},
                   out / "manifest.json")
        if not any((out / ".partial").iterdir()):
            (out / ".partial").rmdir()
    _barrier(world)
    return summary
