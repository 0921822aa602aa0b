"""The GPU benchmark, one short script (at most 5 minutes on one GPU): on a torchvision ResNet-50 at
224 px, inverting ``avgpool``, every number a ratio measured in this one run.

- per step: ours against the bare loop, in the default layout and in channels_last (marginal
  cost, the fastest of interleaved repeats, ``step_cost.measure``);
- speed-ups of autocast (float16, bfloat16) and of ``compile`` with CUDA graphs, against ours;
- peak memory of 10 and of 100 steps (one step's graph is freed before the next);
- the automatic batch size (``batch_size="auto"``) and whether a batch of that size runs;
- time to quality: the steps and seconds each recipe needs to reach the relative representation
  distance that both reach (the larger of their final distances), for our default (normalised L2
  steps of 0.2, linear decay, 300 steps) and Engstrom et al.'s recipe (constant normalised L2
  steps, 10,000 iterations; here steps of 0.05, cut at 3,000 to fit the 5 minutes).

    python benchmarks/gpu.py                 # on a GPU; prints one JSON object
    python benchmarks/gpu.py --smoke         # on the CPU, small: checks the script runs (its
                                             # numbers are not GPU numbers)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its reproduction beside the library

import art_reps  # noqa: E402
import peak_memory  # noqa: E402
import step_cost  # noqa: E402
from art_reps.core import METHODS, auto_batch_size  # noqa: E402

def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(run, device) -> tuple[float, object]:
    _sync(device)
    start = time.perf_counter()
    out = run()
    _sync(device)
    return time.perf_counter() - start, out


def _steps_to(history: torch.Tensor, threshold: float) -> int:
    """Steps until every sample's loss is at most ``threshold`` (history (T, N) reaches it by T)."""
    below = (history.max(1).values <= threshold + 1e-9).nonzero()
    return int(below[0]) + 1 if len(below) else len(history)


def run(device: str, size: int, batch: int, steps: int, anchor_steps: int, repeats: int) -> dict:
    device = torch.device(device)
    import torchvision

    model = torchvision.models.resnet50(num_classes=10).to(device).eval()
    g = torch.Generator().manual_seed(0)
    targets = torch.rand(batch, 3, size, size, generator=g).to(device)
    x0 = torch.rand(batch, 3, size, size, generator=g).to(device)
    invert = dict(layer="avgpool", start=x0, schedule="constant", fake_relu=False, progress=False)

    def ours(n, **kw):
        return lambda: art_reps.invert(model, targets, steps=n, step_size=0.05, **invert, **kw)

    trunk = step_cost._trunk(model, "avgpool")
    with torch.no_grad():
        target = trunk(targets)
    x0_cl = x0.contiguous(memory_format=torch.channels_last)
    variants = {"bare": lambda n: lambda: step_cost.bare_loop(trunk, x0, target, n, 0.05),
                "bare_channels_last": lambda n: lambda: step_cost.bare_loop(trunk, x0_cl, target, n, 0.05),
                "ours": ours, "ours_channels_last": lambda n: ours(n, channels_last=True),
                "ours_float16": lambda n: ours(n, autocast=torch.float16),
                "ours_bfloat16": lambda n: ours(n, autocast=torch.bfloat16)}
    if device.type == "cuda":
        variants["ours_cuda_graphs"] = lambda n: ours(n, compile={"mode": "reduce-overhead"})
    counts = (max(steps // 4, 1), steps)
    for make in variants.values():
        make(2)()  # warm-up: kernels, autotuning, compilation
    times = {(k, n): [] for k in variants for n in counts}
    for _ in range(repeats):
        for key, make in variants.items():
            for n in counts:
                times[key, n].append(_timed(make(n), device)[0])
    best = {k: min(v) for k, v in times.items()}
    per_step = {k: (best[k, counts[1]] - best[k, counts[0]]) / (counts[1] - counts[0]) for k in variants}
    result = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu (smoke test: "
              "these are not GPU numbers)", "torch": torch.__version__, "model": "resnet50", "input": [batch, 3, size,
                                                                                                       size],
              "per_step_s": per_step,
              "ours_vs_bare": per_step["ours"] / per_step["bare"],
              "ours_channels_last_vs_bare": per_step["ours_channels_last"] / per_step["bare"],
              "bare_channels_last_vs_bare": per_step["bare_channels_last"] / per_step["bare"],
              "speedup": {k[len("ours_"):]: per_step["ours"] / per_step[k] for k in variants
                          if k.startswith("ours_") and k != "ours_channels_last"}}
    sizes = (10, 100 if device.type == "cuda" else 20)
    result["peak_memory_mib"] = {n: peak_memory.peak_mib(ours(n), device) for n in sizes}
    chosen = auto_batch_size(model, ["avgpool"], (3, size, size))
    result["auto_batch_size"] = chosen
    if device.type == "cuda":
        big = torch.rand(min(chosen, 4096), 3, size, size, device=device)
        seconds, _ = _timed(lambda: art_reps.invert(model, big, layer="avgpool", steps=2, batch_size="auto"), device)
        result["auto_batch_runs_s"] = seconds
    recipes = {"ours_default": METHODS["invert"].defaults(),
               "engstrom": dict(steps=anchor_steps, step_size=0.05, schedule=art_reps.core.constant())}
    runs = {name: _timed(lambda: art_reps.invert(model, targets, layer="avgpool", start=x0, **options), device)
            for name, options in recipes.items()}
    reached = max(float(res.history[-1].max()) for _, res in runs.values())  # the quality both recipes attain
    quality = {}
    for name, (seconds, res) in runs.items():
        steps_needed = _steps_to(res.history, reached)
        quality[name] = {"steps_run": recipes[name]["steps"], "steps_needed": steps_needed,
                         "seconds_needed": seconds * steps_needed / recipes[name]["steps"]}
    result["time_to_quality"] = {"distance": reached, **quality,
                                 "steps_ours_over_anchor": quality["ours_default"]["steps_needed"]
                                 / quality["engstrom"]["steps_needed"]}
    return result


def table(r: dict) -> str:
    """The GPU block of docs/speed.md from one saved run."""
    q, ps = r["time_to_quality"], r["per_step_s"]
    rows = [f"On {r['device']} (torch {r['torch']}): ResNet-50 with random weights, a batch of {r['input'][0]} "
            f"at {r['input'][2]} px, inverting `avgpool`; every figure from one run of `python benchmarks/gpu.py`.",
            "", "| figure | value |", "|---|---|",
            f"| one step, ours (ms) | {1000 * ps['ours']:.1f} |",
            f"| per step, ours / bare loop (default layout) | {r['ours_vs_bare']:.2f} |",
            f"| per step, bare loop in channels_last / default layout | {r['bare_channels_last_vs_bare']:.2f} |",
            f"| per step, ours in channels_last / bare loop | {r['ours_channels_last_vs_bare']:.2f} |"]
    rows += [f"| speed-up of {name.replace('_', ' ')} over ours | {v:.2f} |" for name, v in r["speedup"].items()]
    peaks = " / ".join(f"{v:.0f}" for v in r["peak_memory_mib"].values())
    rows += [f"| peak memory, {' / '.join(r['peak_memory_mib'])} steps (MiB) | {peaks} |",
             f"| automatic batch size (2 steps on it, s) | {r['auto_batch_size']} "
             f"({r.get('auto_batch_runs_s', 0):.1f}) |",
             f"| steps to equal distance {q['distance']:.4f}: ours / Engstrom's | "
             f"{q['ours_default']['steps_needed']} / "
             f"{q['engstrom']['steps_needed']} = {q['steps_ours_over_anchor']:.2f} |"]
    return "\n".join(rows)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="CPU, 32 px, batch 2, few steps")
    parser.add_argument("--device", default=None, help="default: cuda (cpu with --smoke)")
    parser.add_argument("--from-results", type=Path, default=None, help="render this saved JSON instead of measuring")
    parser.add_argument("--page", type=Path, default=None, help="rewrite this markdown page's gpu block")
    args = parser.parse_args(argv)
    if args.from_results:
        result = json.loads(args.from_results.read_text())
        print(table(result))
        if args.page:
            from reproduction.pages import update_page

            update_page(args.page, {"gpu": table(result)})
        return result
    if args.smoke:
        settings = dict(device=args.device or "cpu", size=32, batch=2, steps=4, anchor_steps=20, repeats=1)
    else:
        if not torch.cuda.is_available() and args.device is None:
            parser.error("no CUDA device: run with --smoke on a CPU, or pass --device")
        settings = dict(device=args.device or "cuda", size=224, batch=32, steps=40, anchor_steps=3000, repeats=3)
    result = run(**settings)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
