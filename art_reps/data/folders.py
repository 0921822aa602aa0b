"""Images from a folder, or from the embedded data, as the commands read them: one tensor of
images in [0, 1] with an id and a label each.

Labels come from the sub-folder each image lies in (``labels="folders"``: names that are all
integers are those classes, others are numbered in sorted order, as torchvision's ``ImageFolder``
does), from a CSV file with the columns ``file`` (the path inside the folder) and ``label`` (a
class index), or not at all (``-1``: a method that needs labels uses the model's predictions).

Examples:
    >>> items = load_items("embedded", limit=3)
    >>> items.images.shape, items.labels.tolist()
    (torch.Size([3, 3, 32, 32]), [7, 4, 3])
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
import torch

from ..core.checks import check_count

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
SPLITS = ("test", "train")


@dataclass(frozen=True)
class Items:
    """ids: one name per item; images: (N, 3, H, W) in [0, 1]; labels: (N,), -1 where unknown;
    unreadable: ``{"file", "reason"}`` for each file of a folder that could not be read; notes:
    ``{"file", "note"}`` for each file changed on reading (transparency composited)."""

    ids: list
    images: torch.Tensor
    labels: torch.Tensor
    unreadable: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    classes: dict = field(default_factory=dict)


def _read_image(path: Path, side: int) -> tuple[torch.Tensor, str | None]:
    """(3, side, side) in [0, 1], and a note where the file was changed to get there: 16-bit and
    32-bit greyscale PNG/TIFF keep their range (not clipped to 255); transparent images (RGBA, LA,
    palettes with transparency) are composited on white, not stripped of their alpha."""
    from PIL import Image
    from torchvision.transforms.functional import pil_to_tensor

    note = None
    with Image.open(path) as opened:
        opened.load()
        image: Image.Image = opened
        if image.mode.startswith("I"):  # 'I', 'I;16', 'I;16B': integers up to 65535
            scaled = np.asarray(image, dtype=np.float64) / 65535.0
            image = Image.fromarray(np.round(scaled.clip(0, 1) * 255).astype(np.uint8), "L")
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
            note = "transparent: composited on white"
        rgb = image.convert("RGB").resize((side, side), Image.Resampling.BILINEAR)
    return pil_to_tensor(rgb).float() / 255, note


def load_items(data: str = "embedded", *, size: int | None = None, limit: int | None = None,
               labels: str | None = None) -> Items:
    """``'embedded'`` (the test split; ``'embedded:train'`` for the other) or a folder of images
    (searched recursively, sorted, converted to RGB and resized to ``size``, default 32); ``limit``
    counts the images that could be read. A folder's ``labels``: ``None`` (from its sub-folders
    when every image lies in one, else none), ``'folders'``, ``'none'`` or a CSV file."""
    if limit is not None:
        limit = check_count(limit, "limit")
    if data == "embedded" or data.startswith("embedded:"):
        from ..data import digits_on_textures

        split = data.partition(":")[2] or "test"
        if split not in SPLITS:
            raise ValueError(f"data 'embedded:<split>' takes a split in {SPLITS}, got {split!r}")
        d = digits_on_textures(split)
        n = len(d.images) if limit is None else min(limit, len(d.images))
        return Items([f"{split}-{i:05d}" for i in range(n)], resized(d.images[:n], size), d.labels[:n].clone())
    folder = Path(data)
    if not folder.is_dir():
        raise FileNotFoundError(f"data must be 'embedded', 'embedded:<split>' or an image folder; {data!r} is neither")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"data folder {data!r} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    names = [p.relative_to(folder).as_posix() for p in files]
    by_name, classes = folder_labels(names, labels)
    side = 32 if size is None else check_count(size, "size", maximum=4096)
    ids: list[str] = []
    images: list[torch.Tensor] = []
    found: list = []
    unreadable: list[dict[str, str]] = []
    notes: list = []
    for p, name in zip(files, names):
        if limit is not None and len(ids) == limit:
            break
        try:
            image, note = _read_image(p, side)
        except Exception as e:  # noqa: BLE001 - any file PIL cannot decode is reported, not fatal
            unreadable.append({"file": name, "reason": f"{type(e).__name__}: {e}"})
            continue
        images.append(image)
        found.append(by_name.get(name, -1))
        if note:
            notes.append({"file": name, "note": note})
        ids.append(quote(name, safe=""))  # 'a.png' != 'a.jpg', 'sub/b.png' != 'sub__b.png'
    if not ids:
        raise ValueError(f"data folder {data!r}: no image could be read ({unreadable[0]['reason']}, ...)")
    return Items(ids, torch.stack(images), torch.tensor(found, dtype=torch.long), unreadable, notes, classes)


def resized(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """``images`` (N, C, H, W) resized to ``size`` x ``size`` (bilinear, antialiased; ``None``: as
    they are), in [0, 1]."""
    if size is None or check_count(size, "size", maximum=4096) == images.shape[-1] == images.shape[-2]:
        return images
    return torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", antialias=True).clamp(0, 1)


def folder_labels(names: list[str], labels: str | None) -> tuple[dict, dict]:
    """({file: class index}, {class name: index}) of a folder's image ``names`` (paths inside it)."""
    if labels == "none" or (labels is None and not all("/" in n for n in names)):
        return {}, {}
    if labels in (None, "folders"):
        if not all("/" in n for n in names):
            loose = next(n for n in names if "/" not in n)
            raise ValueError(f"labels 'folders' takes every image inside a sub-folder named by its class; "
                             f"{loose!r} lies in the folder itself")
        tops = sorted({n.split("/", 1)[0] for n in names})
        classes = ({t: int(t) for t in tops} if all(t.isdigit() for t in tops)
                   else {t: i for i, t in enumerate(tops)})
        return {n: classes[n.split("/", 1)[0]] for n in names}, classes
    path = Path(labels)
    if not path.is_file():
        raise FileNotFoundError(f"labels must be 'folders', 'none' or a CSV file; {labels!r} is none of them")
    with path.open(newline="", encoding="utf-8-sig") as f:  # a spreadsheet's byte-order mark is read
        rows = list(csv.DictReader(f))
    if not rows or not {"file", "label"} <= set(rows[0]):
        raise ValueError(f"labels CSV {labels!r} needs the columns 'file' and 'label' (a class index), one row "
                         "an image")
    known, table = set(names), {}
    for i, row in enumerate(rows, start=2):
        if row["file"] not in known:
            raise ValueError(f"labels CSV {labels!r}, line {i}: no image {row['file']!r} in the folder")
        if not row["label"].strip().isdigit():
            raise ValueError(f"labels CSV {labels!r}, line {i}: label must be a class index >= 0, got {row['label']!r}")
        table[row["file"]] = int(row["label"])
    return table, {}
