"""The single fast/full switch of the course.

``COURSE_FAST=1`` (set by ``make test`` and CI) selects the fast configuration: few steps,
small subsets, so every notebook runs end to end in seconds. Unset (or ``0``), notebooks run
the full course configuration. Notebooks read the switch through :func:`choose`; they never
look at the environment variable themselves.
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

ENV_VAR = "COURSE_FAST"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def fast_mode() -> bool:
    """True when ``COURSE_FAST`` asks for the fast (CI) configuration.

    Read at call time, so a test can flip the variable. An unrecognised value is an error
    rather than a silent full run that would take CI twenty minutes.
    """
    raw = os.environ.get(ENV_VAR, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(
        f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not understood: "
        f"use {ENV_VAR}=1 for the fast CI configuration, or unset it (or 0) for the full course."
    )


def choose(*, fast: T, full: T) -> T:
    """Return ``fast`` in fast mode and ``full`` otherwise (the notebooks' parameter defaults)."""
    return fast if fast_mode() else full


def mode_name() -> str:
    return "fast (COURSE_FAST=1)" if fast_mode() else "full"


# A notebook's training budget: the student picks one in the notebook's parameters cell.
BUDGETS = ("fast", "exercise", "full")


def default_budget() -> str:
    """``"fast"`` under ``COURSE_FAST=1`` (CI), else ``"full"`` (the course run). ``"exercise"`` is
    never a default: a student picks it in the parameters cell for the short runs the exercises need."""
    return "fast" if fast_mode() else "full"


def by_budget(budget: str, *, fast: T, exercise: T, full: T) -> T:
    """The value of a setting for ``budget`` (one of :data:`BUDGETS`), e.g. a number of training steps."""
    if budget not in BUDGETS:
        raise ValueError(f"BUDGET = {budget!r} is not one of {', '.join(map(repr, BUDGETS))}: set it in the "
                         "notebook's parameters cell ('exercise' gives the short runs the exercises need).")
    return {"fast": fast, "exercise": exercise, "full": full}[budget]
