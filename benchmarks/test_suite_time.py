"""Time the test suite as `make test` runs it and write part D of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/test_suite_time.py               # make test-main with the Makefile's TEST_WORKERS
    .venv/bin/python benchmarks/test_suite_time.py --workers 0   # one process, for comparison
    .venv/bin/python benchmarks/test_suite_time.py --junit J.xml --log make.log --commit abc1234  # a run already made

It runs ``make test-main`` (ruff, then pytest on TEST_WORKERS processes, as `make test` and CI do) with a JUnit
report, and writes the wall time, pytest's own time and where the time goes: the summed durations of the
tests, grouped by what they run (on several workers the sums add up to more than the wall time); the grading
runs are part of test-main. The Colab step of `make test` (``test-colab``) is not included: it runs in its own
environment, after this.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.results_file import replace_section  # noqa: E402
from benchmarks.run_benchmarks import RESULTS, machine, uptime  # noqa: E402

SECTION = "## D. Test suite"

# (label, test of a JUnit classname, e.g. "notebooks.solutions.05_cvae_solutions.ipynb" or "tests.test_claims")
GROUPS = [
    ("course notebooks under nbval (fast mode, training)", lambda c: c.startswith("notebooks.") and
     ".solutions." not in c),
    ("solutions notebooks under nbval (those with checked outputs; grading runs every solution)",
     lambda c: c.startswith("notebooks.solutions.")),
    ("autograder: hand-outs built, solutions and untouched copies graded", lambda c: c == "tests.test_assignments"),
    ("claims: every notebook in pretrained mode", lambda c: c == "tests.test_claims"),
    ("browser: JupyterLab + Chromium, site", lambda c: c.startswith("tests.browser.")),
    ("Fashion-MNIST notebook runs", lambda c: c == "tests.test_notebooks_fashion"),
    ("full-size memory runs (04, 05 on 60,000 images)", lambda c: c == "tests.test_notebook_memory"),
    ("exercise checks and their notebook edits", lambda c: c.startswith("tests.test_exercise")),
    ("everything else (helpers' unit tests, user paths, kill test)", lambda c: True),
]


def group_of(classname: str) -> str:
    return next(label for label, matches in GROUPS if matches(classname))


def run_suite(workers: int | None) -> dict:
    junit = Path(tempfile.mkdtemp(prefix="suite-")) / "junit.xml"
    command = ["make", "--no-print-directory", "test-main", f"TEST_ARGS=--junitxml={junit}"]
    if workers is not None:
        command.append(f"TEST_WORKERS={workers}")
    began = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - began
    tail = (result.stdout + result.stderr)[-3000:]
    if result.returncode != 0:
        raise SystemExit(f"make test-main failed (exit {result.returncode}); not recording a time:\n{tail}")
    return read_run(junit, tail, wall, "make test-main" + ("" if workers is None else f" TEST_WORKERS={workers}"))


def read_run(junit: Path, tail: str, wall: float | None, command: str) -> dict:
    """The numbers of one test-main run from its JUnit report and the end of its output."""
    summary = re.search(r"(\d+) passed.* in ([\d.]+)s", tail)
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for case in ET.parse(junit).iter("testcase"):
        label = group_of(case.get("classname", ""))
        sums[label] += float(case.get("time", 0))
        counts[label] += 1
    workers_line = re.search(r"created: (\d+)/\d+ workers", tail)
    return {"wall": wall, "pytest_s": float(summary.group(2)) if summary else None,
            "passed": int(summary.group(1)) if summary else None, "sums": sums, "counts": counts,
            "workers": int(workers_line.group(1)) if workers_line else 1, "command": command}


def section(run: dict, began: dt.datetime, started: str, load_before: str, load_after: str, commit: str) -> list[str]:
    lines = [
        SECTION, "",
        f"Measured {began.strftime('%Y-%m-%d %H:%M')} on {started}; commit {commit}; "
        f"`{run['command']}`, {run['workers']} worker process(es). Regenerate with "
        "`.venv/bin/python benchmarks/test_suite_time.py`.", "",
        f"- load before: `{load_before}`", f"- load after:  `{load_after}`", "",
        f"**{run['passed']} tests passed; pytest {run['pytest_s']:.0f} s"
        + (f", `make test-main` {run['wall']:.0f} s wall** " if run["wall"] is not None else "** ") +
        "(the Colab step of `make test` comes after, in its own environment).", "",
        "| what the tests run | tests | summed test seconds |", "|---|---:|---:|",
    ]
    for label, _ in GROUPS:
        if run["counts"].get(label):
            lines.append(f"| {label} | {run['counts'][label]} | {run['sums'][label]:.0f} |")
    lines += ["", f"Summed over all tests: {sum(run['sums'].values()):.0f} s (per test, on a loaded machine when "
              "several workers share the cores).", ""]
    return lines


def write_section(lines: list[str]) -> None:
    """Replace part D of RESULTS.md (or append it), leaving the other parts as they are."""
    replace_section(SECTION, lines, RESULTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None, help="TEST_WORKERS (default: the Makefile's)")
    parser.add_argument("--junit", type=Path, help="record a run already made: its JUnit report (--junitxml)")
    parser.add_argument("--log", type=Path, help="with --junit: that run's output (pytest's last lines)")
    parser.add_argument("--commit", help="with --junit: the commit that run tested")
    parser.add_argument("--ci-seconds", type=float, help="with --junit: the whole .ci/run's wall time, if it was one")
    args = parser.parse_args()
    if args.junit:
        if not (args.log and args.commit):
            parser.error("--junit needs --log (the run's output) and --commit (what it tested)")
        tail = args.log.read_text(errors="replace")
        run = read_run(args.junit, tail[tail.find("created: "):] if "created: " in tail else tail[-3000:], None,
                       "make test-main")
        began = dt.datetime.fromtimestamp(args.junit.stat().st_mtime)
        lines = section(run, began, machine().split(", load average")[0], "not recorded", "not recorded",
                        args.commit)
        if args.ci_seconds:
            lines[-1:-1] = [f"The whole `CI=true bash .ci/run` of that fresh clone (both venvs, this session, "
                            f"the Colab pass) took {args.ci_seconds:,.0f} s.", ""]
    else:
        started, load_before, began = machine(), uptime(), dt.datetime.now()
        run = run_suite(args.workers)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=ROOT).stdout.strip()
        lines = section(run, began, started, load_before, uptime(), commit)
    write_section(lines)
    print("\n".join(lines))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
