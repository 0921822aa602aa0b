"""The studies' saved measurements: ``results/NAME`` of this repository, or any folder given."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from art_reps.cli.report import write_json

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"


@dataclass(frozen=True)
class SavedResults:
    """A study's saved measurements, ``<folder>/<name>``: ``folder`` given, or the repository's
    ``results`` folder (:data:`RESULTS_DIR`, beside this package)."""

    name: str

    def path(self, folder=None) -> Path:
        return Path(folder or RESULTS_DIR) / self.name

    def save(self, results: dict, folder=None) -> Path:
        path = self.path(folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(results, path)
        return path

    def load(self, folder=None) -> dict:
        path = self.path(folder)
        if not path.is_file():
            raise FileNotFoundError(f"no saved results at {path}: measure first (without --from-results) "
                                    "or pass --results DIR")
        return json.loads(path.read_text())
