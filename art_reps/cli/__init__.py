"""The ``art-reps`` command (:mod:`.main`), a subcommand per method of the registry (:mod:`.methods`)
and the resumable, sharded batch jobs (:mod:`.batch`). The top layer: it may import every other part."""
from .main import main

__all__ = ["main"]
