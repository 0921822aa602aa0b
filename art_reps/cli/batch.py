"""Batch jobs over a data set: one process or many (``torchrun``), resumable, written atomically.

    art-reps batch invert --data embedded --limit 200 --out runs/invert
    torchrun --nproc_per_node=2 -m art_reps.cli batch invert --data embedded --limit 200 --out runs/invert

Items are cut into chunks of ``batch_size`` by their index and chunk k runs on rank
``k % world_size``; every item's start is drawn from its own seed. So a chunk is the same batch
whatever the number of processes, and the outputs are the same bits. Each item writes
``items/<id>.safetensors`` (the exact output tensor and its start), ``items/<id>.png`` and, last,
``items/<id>.json`` (its manifest entry: loss, settings, rank); every file appears by an atomic
rename, so a killed run leaves only whole items and rerunning the same command skips them.
At the end rank 0 writes ``manifest.json`` (settings, every item, a summary).

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
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from .. import core, zoo
from .commands import method_layer
from ..core.checks import check_count
from ..studies.report import publish, rounded, saliency_to_image, write_json

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
SPLITS = ("test", "train")


@dataclass(frozen=True)
class Items:
    """ids: one name per item; images: (N, 3, H, W) in [0, 1]; labels: (N,), -1 where unknown;
    unreadable: ``{"file", "reason"}`` for each file of a folder that could not be read."""

    ids: list
    images: torch.Tensor
    labels: torch.Tensor
    unreadable: list = field(default_factory=list)


def _read_image(path: Path, side: int) -> torch.Tensor:
    """(3, side, side) in [0, 1]; 16-bit and 32-bit greyscale PNG/TIFF keep their range (not clipped to 255)."""
    from PIL import Image
    from torchvision.transforms.functional import pil_to_tensor

    with Image.open(path) as image:
        image.load()
        if image.mode.startswith("I"):  # 'I', 'I;16', 'I;16B': integers up to 65535
            scaled = np.asarray(image, dtype=np.float64) / 65535.0
            image = Image.fromarray(np.round(scaled.clip(0, 1) * 255).astype(np.uint8), "L")
        rgb = image.convert("RGB").resize((side, side), Image.BILINEAR)
    return pil_to_tensor(rgb).float() / 255


def load_items(data: str = "embedded", *, size: int | None = None, limit: int | None = None) -> Items:
    """``'embedded'`` (the test split; ``'embedded:train'`` for the other) or a folder of images
    (searched recursively, sorted, converted to RGB and resized to ``size``, default 32)."""
    if limit is not None:
        limit = check_count(limit, "limit")
    if data == "embedded" or data.startswith("embedded:"):
        from ..data import digits_on_textures

        split = data.partition(":")[2] or "test"
        if split not in SPLITS:
            raise ValueError(f"data 'embedded:<split>' takes a split in {SPLITS}, got {split!r}")
        d = digits_on_textures(split)
        n = len(d.images) if limit is None else min(limit, len(d.images))
        images = d.images[:n]
        if size is not None and check_count(size, "size", maximum=4096) != images.shape[-1]:
            images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", antialias=True)
        return Items([f"{split}-{i:05d}" for i in range(n)], images.clamp(0, 1), d.labels[:n].clone())
    folder = Path(data)
    if not folder.is_dir():
        raise FileNotFoundError(f"data must be 'embedded', 'embedded:<split>' or an image folder; {data!r} is neither")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())[:limit]
    if not files:
        raise ValueError(f"data folder {data!r} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    side = 32 if size is None else check_count(size, "size", maximum=4096)
    ids, images, unreadable = [], [], []
    for p in files:
        name = p.relative_to(folder).as_posix()
        try:
            images.append(_read_image(p, side))
        except Exception as e:  # noqa: BLE001 - any file PIL cannot decode is reported, not fatal
            unreadable.append({"file": name, "reason": f"{type(e).__name__}: {e}"})
            continue
        ids.append(quote(name, safe=""))  # 'a.png' != 'a.jpg', 'sub/b.png' != 'sub__b.png'
    if not ids:
        raise ValueError(f"data folder {data!r}: no image could be read ({unreadable[0]['reason']}, ...)")
    return Items(ids, torch.stack(images), torch.full((len(ids),), -1, dtype=torch.long), unreadable)


def item_starts(kind: str, indices, shape, seed: int) -> torch.Tensor:
    """One start per item, each from its own seed, so a start does not depend on the batch."""
    return torch.cat([core.make_start(kind, (1, *shape), seed=seed * 1_000_003 + int(i)) for i in indices])


def _invert(model, x, labels, starts, a):
    res = core.invert(model, x, layer=a["layer"], start=starts, steps=a["steps"], step_size=a["step_size"],
                      schedule=core.linear_decay(a["steps"]), autocast=a["autocast"])
    return res.images, res.images, {"loss": res.losses}


@lru_cache(maxsize=2)
def _judge_distance(device: torch.device):
    from ..metrics.distances import JudgeDistance

    return JudgeDistance(zoo.load_model(zoo.JUDGE, device=device))


def _iris(model, x, labels, starts, a):
    distance = _judge_distance(x.device) if a["loss"] == "adversarial" else None
    res = core.iris(model, x, layer=a["layer"], loss=a["loss"], start=starts, steps=a["steps"],
                    step_size=a["step_size"], distance=distance, autocast=a["autocast"])
    return res.images, res.images, {"loss": res.losses}


def _visualize(model, x, labels, starts, a):
    res = core.visualize(model, layer=a["layer"], feature=a["feature"], start=x, steps=a["steps"],
                         step_size=a["step_size"], autocast=a["autocast"])
    return res.images, res.images, {"loss": res.losses}


def _sensitivity(model, x, labels, starts, a):
    from ..metrics import predict

    target = torch.where(labels >= 0, labels, predict(model, x))
    grad = core.sensitivity(model, x, target)
    return grad, saliency_to_image(grad), {"target": target}


#: method -> (function, defaults, start kind or None); the settings a run records and checks on resume
METHODS = {
    "invert": (_invert, dict(start="noise", steps=300, step_size=0.05), "start"),
    "iris": (_iris, dict(loss="regularizer-free", start="super-noise", steps=300, step_size=None), "start"),
    "visualize": (_visualize, dict(feature=0, steps=200, step_size=0.1), None),
    "sensitivity": (_sensitivity, dict(), None),
}


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
    if (out / "settings.json").exists():
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
        if not (out / "settings.json").exists():
            write_json(settings, out / "settings.json")
    _barrier(world)


def run_batch(method: str, *, out, data: str = "embedded", model: str = zoo.ROBUST,
              layer: str | None = None, limit: int | None = None, size: int | None = None,
              batch_size: int = 16, device: str = "cpu", seed: int = 0, autocast: bool = False,
              progress: bool = True, **settings) -> dict:
    """Run ``method`` (a key of ``METHODS``) over ``data`` into ``out``; under ``torchrun`` each rank
    takes its chunks. Returns the summary (also in ``manifest.json``), the same on every rank.
    ``layer=None`` is the method's default (``'avgpool'``; ``''``, the class logits, for sensitivity)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    fn, defaults, start_key = METHODS[method]
    unknown = set(settings) - set(defaults)
    if unknown:
        raise ValueError(f"batch {method} takes no setting(s) {sorted(unknown)}; it takes {sorted(defaults)}")
    batch_size = check_count(batch_size, "batch_size")
    layer = method_layer(zoo.load_model(model), method, layer)
    args = {**defaults, **{k: v for k, v in settings.items() if v is not None}, "layer": layer,
            "autocast": bool(autocast)}
    recorded = {"method": method, "data": data, "model": model, "limit": limit, "size": size,
                "batch_size": batch_size, "seed": seed, **args}
    rank, world, device, owned = _distributed(device)
    try:
        return _run(fn, start_key, Path(out), recorded, args, rank, world, device, progress)
    finally:
        if owned:
            dist.destroy_process_group()


def _run(fn, start_key, out, recorded, args, rank, world, device, progress) -> dict:
    started = time.perf_counter()
    items = load_items(recorded["data"], size=recorded["size"], limit=recorded["limit"])
    _prepare(out, recorded, rank, world)
    net = zoo.load_model(recorded["model"], device=device)
    writer = _Writer(out, rank)
    n, b = len(items.ids), recorded["batch_size"]
    mine = [range(s, min(s + b, n)) for k, s in enumerate(range(0, n, b)) if k % world == rank]
    done_now = skipped = 0
    bar = tqdm(total=sum(map(len, mine)), desc=f"{recorded['method']} rank {rank}/{world}", position=rank,
               disable=not progress)
    with bar:
        for chunk in mine:
            todo = [i for i in chunk if not writer.done(items.ids[i])]
            skipped += len(chunk) - len(todo)
            if todo:  # the whole chunk runs again, so the batch (and every bit) is the one of a fresh run
                t0 = time.perf_counter()
                idx = torch.tensor(list(chunk))
                x = items.images[idx].to(device)
                starts = (item_starts(args[start_key], chunk, x.shape[1:], recorded["seed"]).to(device)
                          if start_key else x)
                outputs, pngs, info = fn(net, x, items.labels[idx].to(device), starts, args)
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
    counts = [(done_now, skipped)]
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
                    "unreadable": items.unreadable},
                   out / "manifest.json")
        if not any((out / ".partial").iterdir()):
            (out / ".partial").rmdir()
    _barrier(world)
    return summary
