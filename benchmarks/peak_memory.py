"""Peak memory of an inversion against its number of steps: the graph of one step is freed before
the next, so 10 and 200 steps should peak at the same memory.

    python benchmarks/peak_memory.py                  # embedded model and ResNet-18, 32x32

On CPU the peak is the process's high-water mark of resident memory (``VmHWM``, reset through
``/proc/self/clear_refs``, Linux) above the memory resident before the run. The script reruns
itself with glibc's mmap threshold fixed (``MALLOC_MMAP_THRESHOLD_``): by default glibc raises
it as large blocks are freed and then keeps freed blocks resident, so the high-water mark drifts
up with time whatever the graph holds (measured: 11 -> 72 MiB from 10 to 800 steps by default,
23.6 -> 23.9 MiB with the threshold fixed). On CUDA it is ``torch.cuda.max_memory_allocated``
above the memory allocated before the run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

import art_reps

STATUS = Path("/proc/self/status")


def _resident_kib(field: str) -> int:
    return next(int(line.split()[1]) for line in STATUS.read_text().splitlines() if line.startswith(field))


def peak_mib(run, device: torch.device) -> float:
    """Peak memory (MiB) that ``run()`` adds above what is in use before it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        run()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - before) / 2 ** 20
    if not STATUS.exists():
        raise RuntimeError("peak CPU memory needs Linux's /proc/self/status")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident size
    before = _resident_kib("VmRSS:")
    run()
    return (_resident_kib("VmHWM:") - before) / 1024


def measure(name: str, size: int = 32, batch: int = 16, steps=(10, 200), device: str = "cpu") -> dict:
    from step_cost import MODELS

    model, layer = MODELS[name]()
    model = model.to(device)
    g = torch.Generator().manual_seed(0)
    targets, x0 = (torch.rand(batch, 3, size, size, generator=g).to(device) for _ in range(2))

    def run(n):
        return lambda: art_reps.invert(model, targets, layer=layer, start=x0, steps=n, step_size=0.05, progress=False)

    run(2)()  # warm-up: thread pools, allocator caches
    peaks = {str(n): peak_mib(run(n), torch.device(device)) for n in steps}
    return {"model": name, "size": size, "batch": batch, "peak_mib": peaks,
            "ratio": peaks[str(steps[-1])] / max(peaks[str(steps[0])], 1e-9)}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["embedded", "resnet18"])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.device == "cpu" and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
        os.execve(sys.executable, [sys.executable, __file__, *(sys.argv[1:] if argv is None else argv)], env)
    rows = [measure(m, args.size, args.batch, device=args.device) for m in args.models]
    print(json.dumps(rows) if args.json else table(rows))
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| model | input | peak MiB, 10 steps | peak MiB, 200 steps | 200 / 10 |", "|---|---|---|---|---|"]
    for r in rows:
        p = r["peak_mib"]
        lines.append(f"| {r['model']} | {r['batch']}x3x{r['size']}x{r['size']} | {p['10']:.1f} | {p['200']:.1f} | "
                     f"{r['ratio']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
