"""The ✓/✗ result every exercise check returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CheckResult:
    """What a check measured and whether the exercise's outcome is there; truthy when it passed."""

    exercise: str
    passed: bool
    message: str
    measured: dict = field(default_factory=dict)
    printed: bool = field(default=False, repr=False, compare=False)  # report() already printed the ✓/✗ line

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        """A check cell ends with the check call, so Jupyter displays its result right after report() printed
        it: show nothing the second time (not the dataclass repr); a result displayed later prints its line."""
        if self.printed:
            self.printed = False
            return
        print(self)

    def __str__(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.exercise}: {self.message}"


def report(exercise: str, passed: bool, *, success: str, hint: str, measured: dict | None = None,
           quiet: bool = False) -> CheckResult:
    """Build, print and return a :class:`CheckResult`: ``success`` explains a pass, ``hint`` teaches after a
    fail (what to look at or change, not the answer). ``measured`` holds the numbers the verdict used."""
    numbers = ", ".join(f"{k} = {_fmt(v)}" for k, v in (measured or {}).items())
    message = (success if passed else f"not yet. {hint}") + (f"  [{numbers}]" if numbers else "")
    result = CheckResult(exercise, bool(passed), message, dict(measured or {}))
    if not quiet:
        print(result)
        result.printed = True
    return result


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def unanswered(*values) -> bool:
    """True while any of ``values`` is still a blank: the notebook's ``None`` or an otter hand-out's ``...``."""
    return any(value is None or value is ... for value in values)
