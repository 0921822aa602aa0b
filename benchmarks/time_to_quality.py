"""Time to quality on the embedded robust model: the steps and seconds that our defaults and the
anchors' published recipes need to reach the same judged quality, for inversion, IRIs and
metamers. Ratios of steps measured in one run; seconds are indicative (they say on which device).

Recipes (all normalised L2 steps unless said otherwise; 32x32 images):
- inversion: ours, normalised steps of 0.2 with linear decay over the run's length; Engstrom et
  al., constant steps for 10,000 iterations, step 1 at 224 px scaled to 32 px by the ratio of
  image norms (1/sqrt(49)).
- IRIs (regularizer-free, from noise): ours as for inversion; Nanda et al., constant steps of 0.5
  for 1,000 iterations.
- metamers: ours, Adam at 0.01 halved 8 times over the run's length; Feather et al., steps of 1
  (scaled as above) halved after each block of 3,000, 24,000 iterations.

Checkpoints: ours is run separately at each length (10, 30, 100, 300; metamers also 1,000), since
its schedule depends on the length; the anchors' stateless steps run once, in segments continued
from the last iterate, judged at 10, 30, 100, 300, 1,000, ... up to their published length.

Judges (not the model under test, and trained apart from it): ``judge`` and ``judge_mixer``
recognising the target's class (inversion, metamers) or finding the IRI nearer its target than
its seed (IRIs), with Wilson intervals over 100 balanced test targets; plus the relative
representation distance. "Steps to quality" is the first checkpoint where the share under both
judges reaches the quality that both recipes reach at their longest run (the smaller of their
final shares, per judge). The ratio ours / anchor gets a percentile bootstrap interval over the
targets (the whole rule rerun on each resample, ``scipy.stats.bootstrap``).

    python benchmarks/time_to_quality.py --out results/time_to_quality.json    # hours on 2 cores
    python benchmarks/time_to_quality.py --device cuda --out ...              # minutes on a GPU
    python benchmarks/time_to_quality.py --quick                                # the same code, tiny
    python benchmarks/time_to_quality.py --tasks inversion iris                 # a part
    python benchmarks/time_to_quality.py --from-results results/time_to_quality.json --page docs/speed.md
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import art_reps
from art_reps import core, zoo
from art_reps.data import balanced
from art_reps.metrics import alignment_hits, predict, proportion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its reproduction beside the library
from reproduction.judge_controls import network_judges  # noqa: E402
from reproduction.judging import distances  # noqa: E402

JUDGES = ("judge", "judge_mixer")

SCALE = (3 * 32 * 32 / (3 * 224 * 224)) ** 0.5  # a step of 1 at 224 px, as long relative to the image at 32 px
SHORT = (10, 30, 100, 300)


def _recipes(quick: bool) -> dict:
    k = 20 if quick else 1  # --quick divides every length by 20 (lengths under 1 dropped)

    def lengths(*extra):
        return tuple(dict.fromkeys(c // k for c in SHORT + extra if c // k >= 1))

    return {
        "inversion": {
            "ours": dict(step_size=0.2, runs=lengths()),
            "engstrom": dict(step_size=SCALE, checkpoints=lengths(1000, 3000, 10_000))},
        "iris": {
            "ours": dict(step_size=0.2, runs=lengths()),
            "nanda": dict(step_size=0.5, checkpoints=lengths(1000))},
        "metamers": {
            "ours": dict(feather=True, runs=lengths(1000)),
            "feather": dict(step_size=SCALE, halve_every=3000 // k,
                            checkpoints=lengths(1000, 3000, 6000, 12_000, 24_000))},
    }


def _timed(device, run):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    images = run()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, images


def _run(model, recipe: dict, targets, seeds):
    """Yields (steps, seconds, images) at each checkpoint of ``recipe``."""
    device = targets.device
    target_reps = core.Representation(model, "avgpool")(targets)["avgpool"]
    objective = core.objectives.inversion("avgpool", target_reps)
    reading = core.Representation(model, "avgpool", fake_relu=True)
    for n in recipe.get("runs", ()):  # ours: a separate run per length, its schedule fitted to it
        if recipe.get("feather"):
            run = lambda: core.iris(model, targets, layer="avgpool", loss="feather", start=seeds, steps=n,  # noqa: E731
                                    fake_relu=True).images
        else:
            run = lambda: core.optimize(reading, objective, seeds, steps=n, step_size=recipe["step_size"],  # noqa: E731
                                        schedule=core.linear_decay(n)).images
        yield (n, *_timed(device, run))
    images, done, seconds = seeds, 0, 0.0
    halve = recipe.get("halve_every")
    for checkpoint in recipe.get("checkpoints", ()):
        offset = done
        schedule = (lambda t, o=offset: 0.5 ** ((o + t) // halve)) if halve else core.constant()
        took, images = _timed(device, lambda: core.optimize(
            reading, objective, images, steps=checkpoint - done, step_size=recipe["step_size"], schedule=schedule,
            use_best=False).images)
        seconds += took
        done = checkpoint
        yield done, seconds, images


def _judge(task: str, images, targets, seeds, model, judges, dists) -> dict:
    """Shares (with the per-target hits, for the bootstrap) and the mean relative distance, on the CPU."""
    images = images.detach().cpu()
    with torch.no_grad():
        reps = {k: core.Representation(model, "avgpool")(x)["avgpool"].flatten(1) for k, x in
                (("images", images), ("targets", targets.images))}
    distance = ((reps["images"] - reps["targets"]).norm(dim=1) / reps["targets"].norm(dim=1)).mean().item()
    if task == "iris":
        hits = {j: alignment_hits(images, targets.images, seeds, dists[j]) for j in judges}
    else:
        hits = {j: predict(judge, images).cpu() == targets.labels for j, judge in judges.items()}
    return {"distance": distance, **{j: {**proportion(h), "hits": h.int().tolist()} for j, h in hits.items()}}


def _needed(curves: dict, judges) -> dict:
    """The registered rule: per recipe, the first checkpoint where every judge's share reaches the
    smaller of the recipes' final shares. ``curves``: recipe -> [(steps, {judge: share})]."""
    quality = {j: min(c[-1][1][j] for c in curves.values()) for j in judges}
    return {name: next(s for s, shares in c if all(shares[j] >= quality[j] - 1e-9 for j in judges))
            for name, c in curves.items()}, quality


def _ratio_interval(curves: dict, anchor: str, judges, level: float = 0.95) -> dict:
    """Percentile bootstrap over the targets of steps needed (ours / anchor), the rule rerun per resample."""
    from scipy.stats import bootstrap

    hits = {name: [(p["steps"], {j: np.asarray(p[j]["hits"], float) for j in judges}) for p in c]
            for name, c in curves.items()}

    def ratio(idx):
        idx = idx.astype(int)
        needed, _ = _needed({n: [(s, {j: h[j][idx].mean() for j in judges}) for s, h in c]
                             for n, c in hits.items()}, judges)
        return needed["ours"] / needed[anchor]

    n = len(curves["ours"][0][next(iter(judges))]["hits"])
    ci = bootstrap((np.arange(n, dtype=float),), ratio, vectorized=False, n_resamples=1000, method="percentile",
                   confidence_level=level, rng=np.random.default_rng(0)).confidence_interval
    return {"low": float(ci.low), "high": float(ci.high), "resamples": 1000}


def run(quick: bool = False, tasks=("inversion", "iris", "metamers"), device: str = "cpu") -> dict:
    torch.manual_seed(0)
    device = torch.device(device)
    model = zoo.load_model(zoo.ROBUST, device=device)
    judging_model = zoo.load_model(zoo.ROBUST)  # distances on the CPU, with the judges
    targets = balanced(1 if quick else 10)
    judges = network_judges(names=JUDGES)  # the speed benchmark's registered judges (its saved results use them)
    dists = distances(judges)
    seeds = core.make_start("noise", targets.images.shape, seed=0)
    result = {"model": zoo.ROBUST, "targets": len(targets), "quick": quick, "device": _device_name(device),
              "tasks": {}}
    for task, recipes in _recipes(quick).items():
        if task not in tasks:
            continue
        curves = {}
        for name, recipe in recipes.items():
            curves[name] = [{"steps": s, "seconds": t, **_judge(task, x, targets, seeds, judging_model, judges, dists)}
                            for s, t, x in _run(model, recipe, targets.images.to(device), seeds.to(device))]
            print(task, name, [(p["steps"], p["judge"]["score"], p["judge_mixer"]["score"]) for p in curves[name]],
                  flush=True)
        needed, quality = _needed({n: [(p["steps"], {j: p[j]["score"] for j in judges}) for p in c]
                                   for n, c in curves.items()}, judges)
        (anchor,) = [n for n in needed if n != "ours"]
        result["tasks"][task] = {"curves": curves, "quality": quality, "steps_needed": needed, "anchor": anchor,
                                 "anchor_steps": recipes[anchor]["checkpoints"][-1],
                                 "ours_over_anchor": needed["ours"] / needed[anchor],
                                 "ours_over_anchor_interval": _ratio_interval(curves, anchor, judges)}
    return result


def _device_name(device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"


def table(result: dict) -> str:
    """Every checkpoint of every recipe, then the steps each needs to reach the shared quality."""
    cell = art_reps.metrics.interval_text
    rows = [f"Embedded robust model `{result['model']}`, {result['targets']} balanced test targets, on "
            f"{result.get('device', 'the CPU')}, by `python benchmarks/time_to_quality.py`.", "",
            "| task | recipe | steps | seconds | judge | judge_mixer | distance |", "|---|---|---|---|---|---|---|"]
    for task, r in result["tasks"].items():
        for name, curve in r["curves"].items():
            rows += [f"| {task} | {name} | {p['steps']} | {p['seconds']:.1f} | {cell(p['judge'], 2)} | "
                     f"{cell(p['judge_mixer'], 2)} | {p['distance']:.3f} |" for p in curve]
    rows += ["", "| task | shared quality (judge, judge_mixer) | steps needed: ours | steps needed: anchor | "
             "ours / anchor [95% bootstrap] |", "|---|---|---|---|---|"]
    for task, r in result["tasks"].items():
        quality = ", ".join(f"{v:.2f}" for v in r["quality"].values())
        ci = r["ours_over_anchor_interval"]
        rows.append(f"| {task} | {quality} | {r['steps_needed']['ours']} | {r['steps_needed'][r['anchor']]} "
                    f"({r['anchor']}) | {r['ours_over_anchor']:.2f} [{ci['low']:.2f}, {ci['high']:.2f}] |")
    return "\n".join(rows)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every length divided by 20, 10 targets")
    parser.add_argument("--device", default="cpu", help="where the recipes run (judging stays on the CPU)")
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    parser.add_argument("--tasks", nargs="+", default=["inversion", "iris", "metamers"],
                        choices=["inversion", "iris", "metamers"])
    parser.add_argument("--from-results", type=Path, default=None, help="render this saved JSON instead of measuring")
    parser.add_argument("--page", type=Path, default=None, help="rewrite this markdown page's time_to_quality block")
    args = parser.parse_args(argv)
    result = json.loads(args.from_results.read_text()) if args.from_results else run(args.quick, args.tasks,
                                                                                     args.device)
    print(table(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    if args.page:
        from reproduction.pages import update_page

        update_page(args.page, {"time_to_quality": table(result)})
    return result


if __name__ == "__main__":
    main()
