"""Write a report folder: PNG grids, ``metrics.json`` and an ``index.html`` that shows them."""
from __future__ import annotations

import base64
import html
import json
import os
import re
import tempfile
from dataclasses import dataclass
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


def project_results(start: Path | None = None) -> Path:
    """The ``results`` folder of the art_reps project that holds ``start`` (default: the working
    directory) or one of its parents, found by its ``setup.cfg``; else the project the package was
    installed from (an editable install); else ``start/results``."""
    start = Path(start or Path.cwd()).resolve()
    here = Path(__file__).resolve().parents[2]  # the project itself, when the package is installed from it
    for folder in (start, *start.parents, here):
        cfg = folder / "setup.cfg"
        if cfg.is_file() and "name = art-reps" in cfg.read_text():
            return folder / "results"
    return start / "results"


@dataclass(frozen=True)
class SavedResults:
    """A study's saved measurements, ``<folder>/<name>``: ``folder`` given, or the project's
    ``results`` folder (:func:`project_results`), so an installed package finds them when run from
    the project and takes any other folder by argument (``art-reps <study> --results DIR``)."""

    name: str

    def path(self, folder=None) -> Path:
        return Path(folder) / self.name if folder is not None else project_results() / self.name

    def save(self, results: dict, folder=None) -> Path:
        path = self.path(folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(results, path)
        return path

    def load(self, folder=None) -> dict:
        path = self.path(folder)
        if not path.is_file():
            raise FileNotFoundError(f"no saved results at {path}: measure first (without --from-results), run from "
                                    "the project's folder, or pass --results DIR")
        return json.loads(path.read_text())
