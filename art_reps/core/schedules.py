"""Step-size schedules: ``schedule(t) -> multiplier`` of the step size at step ``t``.

A method's recipe names its schedule (``"linear"``, ``"halving"``, ...), made for the run's
number of steps by :func:`make_schedule`; any callable works as well.

Examples:
    >>> round(make_schedule("linear", 11)(10), 6)
    0.1
    >>> make_schedule("halving", 16)(2)
    0.5
"""
from __future__ import annotations

from collections.abc import Callable

from .checks import check_count


def constant() -> Callable[[int], float]:
    return lambda t: 1.0


def step_halving(every: int) -> Callable[[int], float]:
    """Halve the step size every ``every`` steps (Feather et al.'s metamer schedule)."""
    check_count(every, "every")
    return lambda t: 0.5 ** (t // every)


def piecewise(*segments: tuple[int, float]) -> Callable[[int], float]:
    """``piecewise((800, 1), (500, 0.1), ...)``: multiplier 1 for 800 steps, then 0.1 ... (Mahendran)."""
    bounds, values, total = [], [], 0
    for length, value in segments:
        total += check_count(length, "segment length")
        bounds.append(total)
        values.append(float(value))

    def schedule(t):
        return next((v for b, v in zip(bounds, values) if t < b), values[-1])

    return schedule


def linear_decay(steps: int, final: float = 0.1) -> Callable[[int], float]:
    """From 1 down to ``final`` over ``steps`` steps."""
    return lambda t: 1.0 + (final - 1.0) * min(t / max(steps - 1, 1), 1.0)


def mahendran(steps: int) -> Callable[[int], float]:
    """Mahendran & Vedaldi's piecewise schedule (800/500/500/200/100 of 2,100 steps at 1, 0.1,
    0.01, 1e-3, 1e-4), rescaled to ``steps``."""
    parts = [(max(1, steps * k // 2100), v) for k, v in ((800, 1), (500, 0.1), (500, 0.01), (200, 1e-3), (100, 1e-4))]
    return piecewise(*parts)


#: name -> schedule for a run of ``steps`` steps
SCHEDULES: dict[str, Callable[[int], Callable[[int], float]]] = {
    "constant": lambda steps: constant(),
    "linear": linear_decay,
    "halving": lambda steps: step_halving(max(1, steps // 8)),
    "mahendran": mahendran,
}


def make_schedule(schedule, steps: int) -> Callable[[int], float]:
    """A name of ``SCHEDULES`` (made for ``steps``), a callable ``t -> multiplier``, or ``None`` (constant)."""
    if schedule is None:
        return constant()
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {sorted(SCHEDULES)} or a callable t -> multiplier, "
                             f"got {schedule!r}")
        return SCHEDULES[schedule](steps)
    if not callable(schedule):
        raise TypeError(f"schedule must be one of {sorted(SCHEDULES)} or a callable t -> multiplier, got {schedule!r}")
    return schedule
