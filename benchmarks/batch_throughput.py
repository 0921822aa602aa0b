"""Throughput of ``art-reps batch invert``: 2 processes under torchrun against 1 process, on the
embedded data, runs interleaved, medians kept.

    python benchmarks/batch_throughput.py             # 64 images, batch 8, 100 steps

Throughput is items per second of the job itself (the ``seconds`` of its summary: data and
model loading included, interpreter start-up not). One process uses every core (torch's default
threads); under torchrun each process gets one thread (torchrun's default), so both use the
whole machine.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def run_job(processes: int, out: Path, limit: int, batch: int, steps: int) -> float:
    """Items per second of one batch job on ``processes`` processes."""
    job = ["batch", "invert", "--out", str(out), "--limit", str(limit), "--batch-size", str(batch),
           "--steps", str(steps), "--quiet"]
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
                if processes > 1 else [sys.executable])
    proc = subprocess.run([*launcher, "-m", "art_reps.cli", *job], capture_output=True, text=True, check=True)
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])
    return summary["items"] / summary["seconds"]


def measure(limit: int = 64, batch: int = 8, steps: int = 100, repeats: int = 3) -> dict:
    rates = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            for p in rates:
                rates[p].append(run_job(p, Path(tmp) / f"{p}-{r}", limit, batch, steps))
    med = {p: statistics.median(v) for p, v in rates.items()}
    return {"items": limit, "batch": batch, "steps": steps, "items_per_s": med, "ratio": med[2] / med[1]}


def table(r: dict) -> str:
    return ("| job | 1 process, items/s | 2 processes, items/s | 2 / 1 |\n|---|---|---|---|\n"
            f"| invert {r['items']} images, batch {r['batch']}, {r['steps']} steps | {r['items_per_s'][1]:.2f} | "
            f"{r['items_per_s'][2]:.2f} | {r['ratio']:.2f} |")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    r = measure(args.limit, args.batch, args.steps, args.repeats)
    print(table(r))
    return r


if __name__ == "__main__":
    main()
