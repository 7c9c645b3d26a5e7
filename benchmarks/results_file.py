"""One part of ``benchmarks/RESULTS.md`` rewritten without touching the others.

Parts A-C come from ``run_benchmarks.py`` (which keeps everything from part D on), part D from
``test_suite_time.py``, part E from ``generator_quality.py --write-results``; each replaces only its own part.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def replace_section(heading: str, lines: list[str], path: Path = RESULTS) -> None:
    """Replace the part that starts with ``heading`` (up to the next ``## `` heading), or append it."""
    text = path.read_text() if path.is_file() else "# Benchmark results\n"
    body = "\n".join(lines).rstrip("\n") + "\n"
    start = text.find(heading)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + body + (text[end:] if end >= 0 else "")
    path.write_text(text)
