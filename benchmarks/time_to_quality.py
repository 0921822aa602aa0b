"""Time to quality on the embedded robust model: the steps and seconds that our defaults and the
anchors' published recipes need to reach the same judged quality, for inversion, IRIs and
metamers. Ratios of steps measured in one run; seconds on this shared machine are indicative.

Recipes (all normalised L2 steps unless said otherwise; 32x32 images):
- inversion: ours, 300 steps of 0.2 with linear decay; Engstrom et al., constant steps for
  10,000 iterations, step 1 at 224 px scaled to 32 px by the ratio of image norms (1/sqrt(49)).
- IRIs (regularizer-free, from noise): ours, 300 steps of 0.2 with linear decay; Nanda et al.,
  constant steps of 0.5 for 1,000 iterations.
- metamers: ours, 1,000 Adam steps at 0.01 halved 8 times; Feather et al., steps of 1 (scaled as
  above) halved after each of 8 blocks, 24,000 iterations.

Judges (not the model under test, and trained apart from it): ``judge`` and ``judge_mixer``
recognising the target's class (inversion, metamers) or finding the IRI nearer its target than
its seed (IRIs), with Wilson intervals over 100 balanced test targets; plus the relative
representation distance. Anchors' stateless steps are run in segments continued from the last
iterate, so one run gives every checkpoint; a checkpoint is judged on that iterate.
"Steps to quality" is the first checkpoint where the share under both judges reaches the quality
that both recipes reach (the smaller of their final shares, per judge).

    python benchmarks/time_to_quality.py --out results/time_to_quality.json    # hours on 2 cores
    python benchmarks/time_to_quality.py --quick                                # the same code, tiny
    python benchmarks/time_to_quality.py --tasks inversion iris                 # a part
    python benchmarks/time_to_quality.py --from-results results/time_to_quality.json --readme README.md
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import art_reps
from art_reps import core, zoo
from art_reps.judging import balanced, distances, network_judges
from art_reps.metrics import alignment_hits, predict, proportion

SCALE = (3 * 32 * 32 / (3 * 224 * 224)) ** 0.5  # a step of 1 at 224 px, as long relative to the image at 32 px


def _recipes(quick: bool) -> dict:
    k = 20 if quick else 1  # --quick divides every length by 20
    return {
        "inversion": {
            "ours": dict(steps=300 // k, step_size=0.2, decay=True, checkpoints=(300 // k,)),
            "engstrom": dict(steps=10_000 // k, step_size=SCALE, checkpoints=tuple(c // k for c in (100, 300, 1000, 3000, 10_000)))},
        "iris": {
            "ours": dict(steps=300 // k, step_size=0.2, decay=True, checkpoints=(300 // k,)),
            "nanda": dict(steps=1000 // k, step_size=0.5, checkpoints=tuple(c // k for c in (100, 300, 1000)))},
        "metamers": {
            "ours": dict(steps=1000 // k, feather=True, checkpoints=(1000 // k,)),
            "feather": dict(steps=24_000 // k, step_size=SCALE, halve_every=3000 // k,
                            checkpoints=tuple(c // k for c in (300, 1000, 3000, 6000, 12_000, 24_000)))},
    }


def _run(model, task: str, recipe: dict, targets, seeds):
    """Yields (steps, seconds, images) at each checkpoint of ``recipe``."""
    target_reps = core.Representation(model, "avgpool")(targets)["avgpool"]
    objective = core.objectives.inversion("avgpool", target_reps)
    if recipe.get("decay") or recipe.get("feather"):  # ours: one call with its own schedule
        start = time.perf_counter()
        if recipe.get("feather"):
            images = core.iris(model, targets, layer="avgpool", loss="feather", start=seeds,
                               steps=recipe["steps"], fake_relu=True).images
        else:
            images = core.optimize(model, objective, seeds, steps=recipe["steps"], step_size=recipe["step_size"],
                                   schedule=core.linear_decay(recipe["steps"]), fake_relu=True).images
        yield recipe["steps"], time.perf_counter() - start, images
        return
    images, done, seconds = seeds, 0, 0.0
    halve = recipe.get("halve_every")
    for checkpoint in recipe["checkpoints"]:
        offset = done
        schedule = (lambda t, o=offset: 0.5 ** ((o + t) // halve)) if halve else core.constant()
        start = time.perf_counter()
        images = core.optimize(model, objective, images, steps=checkpoint - done, step_size=recipe["step_size"],
                               schedule=schedule, use_best=False, fake_relu=True).images
        seconds += time.perf_counter() - start
        done = checkpoint
        yield done, seconds, images


def _judge(task: str, images, targets, seeds, model, judges, dists) -> dict:
    with torch.no_grad():
        reps = {k: core.Representation(model, "avgpool")(x)["avgpool"].flatten(1) for k, x in
                (("images", images), ("targets", targets.images))}
    distance = ((reps["images"] - reps["targets"]).norm(dim=1) / reps["targets"].norm(dim=1)).mean().item()
    if task == "iris":
        shares = {j: proportion(alignment_hits(images, targets.images, seeds, dists[j])) for j in judges}
    else:
        shares = {j: proportion(predict(judge, images).cpu() == targets.labels) for j, judge in judges.items()}
    return {"distance": distance, **shares}


def _steps_to(curve: list, quality: dict) -> int | None:
    for point in curve:
        if all(point[j]["score"] >= quality[j] - 1e-9 for j in quality):
            return point["steps"]
    return None


def run(quick: bool = False, tasks=("inversion", "iris", "metamers")) -> dict:
    torch.manual_seed(0)
    model = zoo.load_model(zoo.ROBUST)
    targets = balanced(1 if quick else 10)
    judges = network_judges()
    dists = distances(judges)
    seeds = core.make_start("noise", targets.images.shape, seed=0)
    result = {"model": zoo.ROBUST, "targets": len(targets), "quick": quick, "tasks": {}}
    for task, recipes in _recipes(quick).items():
        if task not in tasks:
            continue
        curves = {}
        for name, recipe in recipes.items():
            curves[name] = [{"steps": s, "seconds": t, **_judge(task, x, targets, seeds, model, judges, dists)}
                            for s, t, x in _run(model, task, recipe, targets.images, seeds)]
            print(task, name, json.dumps(curves[name][-1]), flush=True)
        finals = {name: c[-1] for name, c in curves.items()}
        quality = {j: min(f[j]["score"] for f in finals.values()) for j in judges}
        needed = {name: _steps_to(c, quality) for name, c in curves.items()}
        ours, (anchor,) = needed["ours"], [n for n in needed if n != "ours"]
        result["tasks"][task] = {"curves": curves, "quality": quality, "steps_needed": needed,
                                 "anchor": anchor, "anchor_steps": recipes[anchor]["steps"],
                                 "ours_over_anchor": None if not (ours and needed[anchor]) else ours / needed[anchor]}
    return result


def table(result: dict) -> str:
    """Every checkpoint of every recipe, then the steps each needs to reach the shared quality."""
    cell = art_reps.metrics.interval_text
    rows = [f"Embedded robust model `{result['model']}`, {result['targets']} balanced test targets, by "
            "`python benchmarks/time_to_quality.py`.", "",
            "| task | recipe | steps | seconds | judge | judge_mixer | distance |", "|---|---|---|---|---|---|---|"]
    for task, r in result["tasks"].items():
        for name, curve in r["curves"].items():
            rows += [f"| {task} | {name} | {p['steps']} | {p['seconds']:.0f} | {cell(p['judge'], 2)} | "
                     f"{cell(p['judge_mixer'], 2)} | {p['distance']:.3f} |" for p in curve]
    rows += ["", "| task | shared quality (judge, judge_mixer) | steps needed: ours | steps needed: anchor | "
             "ours / anchor |", "|---|---|---|---|---|"]
    for task, r in result["tasks"].items():
        quality = ", ".join(f"{v:.2f}" for v in r["quality"].values())
        ratio = f"{r['ours_over_anchor']:.2f}" if r["ours_over_anchor"] else "-"
        rows.append(f"| {task} | {quality} | {r['steps_needed']['ours']} | {r['steps_needed'][r['anchor']]} "
                    f"({r['anchor']}) | {ratio} |")
    return "\n".join(rows)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every length divided by 20, 10 targets")
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    parser.add_argument("--tasks", nargs="+", default=["inversion", "iris", "metamers"],
                        choices=["inversion", "iris", "metamers"])
    parser.add_argument("--from-results", type=Path, default=None, help="render this saved JSON instead of measuring")
    parser.add_argument("--readme", type=Path, default=None, help="rewrite this file's time_to_quality block")
    args = parser.parse_args(argv)
    result = json.loads(args.from_results.read_text()) if args.from_results else run(args.quick, args.tasks)
    print(table(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    if args.readme:
        from art_reps.science import update_readme

        update_readme(args.readme, {"time_to_quality": table(result)})
    return result


if __name__ == "__main__":
    main()
