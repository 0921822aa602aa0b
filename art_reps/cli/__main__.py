"""``python -m art_reps.cli``: the ``art-reps`` command."""
import sys

from .main import main

if __name__ == "__main__":
    sys.exit(main())
