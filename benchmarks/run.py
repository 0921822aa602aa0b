"""Every benchmark, one command: per-step cost (embedded model, ResNet-18 and -50 at 32x32 and
224x224), peak memory over steps and batch-job throughput on 2 processes against 1. Prints the
tables; ``--page docs/speed.md`` rewrites the block between ``<!-- benchmarks -->`` markers.

    python benchmarks/run.py --page docs/speed.md     # about 25 minutes on 2 CPU cores
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its reproduction beside the library

import batch_throughput  # noqa: E402
import peak_memory  # noqa: E402
import step_cost  # noqa: E402

# (model, input side, batch, steps): smaller batches and fewer steps where a step takes seconds
STEP_CASES = (("embedded", 32, 16, 40), ("resnet18", 32, 16, 40), ("resnet50", 32, 16, 20),
              ("resnet18", 224, 4, 12), ("resnet50", 224, 4, 8))


def _cpu() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    names = re.findall(r"model name\s*:\s*(.+)", cpuinfo.read_text()) if cpuinfo.exists() else []
    return names[0].strip() if names else platform.processor() or "unknown CPU"


def report(repeats: int = 3) -> str:
    parts = [f"Measured on {_cpu()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
             "by `python benchmarks/run.py --page docs/speed.md`.", "", step_cost.HEADER]
    for name, size, batch, steps in STEP_CASES:
        parts.append(step_cost.row(step_cost.measure(name, size, batch, steps, repeats)))
        print(parts[-1], flush=True)
    memory = subprocess.run([sys.executable, peak_memory.__file__, "--json"], capture_output=True, text=True,
                            check=True)
    parts += ["", peak_memory.table(json.loads(memory.stdout))]
    parts += ["", batch_throughput.table(batch_throughput.measure(repeats=repeats))]
    return "\n".join(parts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page", type=Path, default=None, help="rewrite this markdown page's benchmarks block")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    text = report(args.repeats)
    print(text)
    if args.page:
        from reproduction.pages import update_page

        update_page(args.page, {"benchmarks": text})


if __name__ == "__main__":
    main()
