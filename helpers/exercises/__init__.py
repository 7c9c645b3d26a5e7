"""Executable checks for the notebooks' "Try it yourself" exercises.

One module per topic notebook (``gan``, ``cgan``, ``dcgan``, ``vae``, ``cvae``). Each ``exN(...)``
measures the outcome exercise N is about, prints ✓ or ✗ with a hint that says what to look at
(never the answer), and returns a :class:`CheckResult`, so tests can prove every check both ways:
✗ on the unmodified notebook's state, ✓ on the solution's.
"""

from ._check import CheckResult, report
from ._runner import run_notebook_here

__all__ = ["CheckResult", "report", "run_notebook_here"]
