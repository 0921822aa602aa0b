"""Out-of-distribution inputs: bundled photographs and faces, resized to a square size."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def _to_tensor(images: list[np.ndarray], size: int) -> torch.Tensor:
    out = []
    for img in images:
        img = np.asarray(img, dtype=np.float32)
        img = img / 255.0 if img.max() > 1.0 else img
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        h, w = img.shape[:2]
        s = min(h, w)
        img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s, :3]
        t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]
        out.append(F.interpolate(t, size=(size, size), mode="area"))
    return torch.cat(out).clamp(0, 1)


def natural_photos(size: int = 32) -> torch.Tensor:
    """Centre crops of scikit-image's and scikit-learn's bundled photographs: (6, 3, size, size).

    Examples:
        >>> natural_photos().shape
        torch.Size([6, 3, 32, 32])
    """
    import skimage.data
    from sklearn.datasets import load_sample_images

    images = [getattr(skimage.data, name)() for name in PHOTOS] + list(load_sample_images().images)
    return _to_tensor(images, size)


def lfw_faces(size: int = 32, n: int = 16) -> torch.Tensor:
    """The first ``n`` faces of scikit-image's ``lfw_subset`` (grey, shown as RGB): (n, 3, size, size)."""
    import skimage.data

    faces = skimage.data.lfw_subset()[:100]
    if not 1 <= n <= len(faces):
        raise ValueError(f"n must be in [1, {len(faces)}], got {n!r}")
    return _to_tensor(list(faces[:n]), size)
