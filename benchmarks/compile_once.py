"""What ``compile=True`` costs and gives: the first call compiles, later calls with the same shapes
reuse it; then the per-step cost compiled against eager (marginal, as in ``step_cost.py``).

    python benchmarks/compile_once.py                 # embedded model, batch 4
"""
from __future__ import annotations

import time

import art_reps


def _seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main(calls: int = 3, repeats: int = 3) -> dict:
    model, x = art_reps.load_model(), art_reps.data.digits_on_textures("test").images

    def invert(images, steps, compile):
        return lambda: art_reps.invert(model, images, layer="avgpool", steps=steps, compile=compile)

    for i in range(calls):
        print(f"call {i + 1} (images {4 * i}-{4 * i + 3}): {_seconds(invert(x[4 * i:4 * i + 4], 2, True)):.2f} s")
    per_step = {}
    for compile in (False, True):
        short = min(_seconds(invert(x[:4], 10, compile)) for _ in range(repeats))
        long = min(_seconds(invert(x[:4], 40, compile)) for _ in range(repeats))
        per_step[compile] = (long - short) / 30
    print(f"per step: eager {per_step[False]:.4f} s, compiled {per_step[True]:.4f} s, "
          f"compiled / eager {per_step[True] / per_step[False]:.2f}")
    return per_step


if __name__ == "__main__":
    main()
