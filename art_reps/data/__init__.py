"""Embedded data, built only from what ships inside installed packages (no downloads)."""
from .digits_on_textures import LabelledImages, balanced, digits_on_textures, targets_index
from .natural import lfw_faces, natural_photos
from .spectrum import mean_spectrum

__all__ = ["LabelledImages", "balanced", "digits_on_textures", "targets_index", "lfw_faces", "mean_spectrum",
           "natural_photos"]
