"""Re-execute every tutorial notebook in place, so the committed copies hold fresh outputs (figures
visible where people browse). The test suite executes them again without writing (``--nbmake``).

    python notebooks/refresh.py                 # every notebook, about 5 minutes on 2 cores
    python notebooks/refresh.py 00_quickstart   # some
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
WIDGET = "application/vnd.jupyter.widget-view+json"


def refresh(path: Path, timeout: int = 1200) -> None:
    os.environ["TQDM_DISABLE"] = "1"  # the committed outputs hold results, not progress bars
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    for cell in notebook.cells:  # other libraries' notebook bars (tqdm's widget ignores TQDM_DISABLE) hold no result
        cell["outputs"] = [o for o in cell.get("outputs", []) if WIDGET not in o.get("data", {})]
    nbformat.write(notebook, path)


def main(names: list[str]) -> None:
    paths = [HERE / f"{n.removesuffix('.ipynb')}.ipynb" for n in names] or sorted(HERE.glob("*.ipynb"))
    for path in paths:
        start = time.perf_counter()
        refresh(path)
        print(f"{path.name}: {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
