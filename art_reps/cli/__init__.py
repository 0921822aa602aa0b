"""The ``art-reps`` command (:mod:`.main`), its per-method subcommands (:mod:`.commands`) and the
resumable, sharded batch jobs (:mod:`.batch`). The top layer: it may import every other part."""
from .main import main

__all__ = ["main"]
