"""Write a report folder: PNG grids, ``metrics.json`` and an ``index.html`` that shows them."""
from __future__ import annotations

import base64
import html
import json
import os
import re
import tempfile
from pathlib import Path

import torch


def save_grid(images: torch.Tensor, path: Path, *, nrow: int, upscale: int = 3) -> str:
    """Save (N, C, H, W) images in [0, 1] as one PNG grid (nearest-neighbour upscaled); returns the name."""
    from torchvision.utils import save_image

    images = torch.nn.functional.interpolate(images.detach().float().cpu().clamp(0, 1), scale_factor=upscale,
                                             mode="nearest")
    save_image(images, str(path), nrow=nrow, padding=2, pad_value=1.0)
    return path.name


def saliency_to_image(grad: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) gradients -> (N, 1, H, W) per-image normalised magnitudes in [0, 1]."""
    mag = grad.abs().sum(1, keepdim=True)
    top = mag.flatten(1).quantile(0.99, dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return (mag / top).clamp(0, 1)


def publish(tmp, path) -> None:
    """Rename a finished temporary file to ``path`` with the permissions any new file gets under the
    user's umask (temporary files are created 0600), so a shared report folder stays readable."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def write_json(data, path: Path) -> None:
    """Atomic JSON write: a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    publish(tmp, path)


def write_index(out: Path, title: str, intro: str, rows: list[tuple[str, str, str]], metrics: dict,
                columns: tuple[str, str] = ("standard", "robust")) -> None:
    """``rows``: (section title, first model's PNG, second model's PNG), shown side by side under
    ``columns``."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    cells = "\n".join(
        f"<h2>{html.escape(t)}</h2><table><tr>{head}</tr>"
        f"<tr><td><img src='{html.escape(a)}'></td><td><img src='{html.escape(b)}'></td></tr></table>"
        for t, a, b in rows
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}} td{{vertical-align:top;padding:4px}}
img{{image-rendering:pixelated;max-width:520px}} pre{{background:#f4f4f4;padding:8px}}</style></head>
<body><h1>{html.escape(title)}</h1><p>{intro}</p>{cells}
<h2>metrics.json</h2><pre>{html.escape(json.dumps(metrics, indent=2))}</pre></body></html>"""
    (out / "index.html").write_text(_inlined(page, out))


def _inlined(page: str, out: Path) -> str:
    """The page with every ``<img src='NAME.png'>`` of ``out`` inlined as a data URI (its name kept as
    the title), so the page is one self-contained file."""
    def inline(m):
        name = html.unescape(m.group(1))
        data = base64.b64encode((out / name).read_bytes()).decode()
        return f"<img title='{m.group(1)}' src='data:image/png;base64,{data}'"

    return re.sub(r"<img src='([^':]+\.png)'", lambda m: inline(m) if (out / html.unescape(m.group(1))).is_file()
                  else m.group(0), page)


def rounded(value, digits: int = 4):
    """``value`` with every float in it (nested dicts and lists too) rounded to ``digits``."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value
