"""Re-measure the numbers a notebook's prose quotes, after its shipped weights were retrained.

    python scripts/refresh_claims.py notebooks/01_gan.ipynb            # report: claim, quoted, measured
    python scripts/refresh_claims.py notebooks/01_gan.ipynb --write    # also rewrite the numbers that moved
    python scripts/refresh_claims.py notebooks/01_gan.ipynb --write --exact  # and every digit that changed

The notebook runs once in pretrained mode exactly as ``tests/test_claims.py`` runs it (same parameters, same
kernel-side evaluation of every claim's ``expr``). A claim whose measurement left its tolerance is reported;
with ``--write`` its number is replaced in the claim's ``text``, in the markdown cell and in ``value``, keeping
the number of decimals the prose used. Only numbers are rewritten: read every sentence around a changed number
afterwards (a ranking or "within the spread" may no longer hold), and run ``tests/test_claims.py``.
A claim whose number cannot be found unambiguously in its text is listed for a hand edit.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.test_claims import _has_weights_switch, read_claims, run_notebook  # noqa: E402

NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]*\d)")


def locate(text: str, value: float) -> list[re.Match]:
    """The numbers in ``text`` that, at their printed precision, show ``value``."""
    found = []
    for match in NUMBER.finditer(text):
        decimals = len(match[0].split(".")[1]) if "." in match[0] else 0
        if abs(float(match[0]) - value) <= 0.5 * 10 ** -decimals + 1e-9:
            found.append(match)
    return found


def refresh(path: Path, write: bool, exact: bool = False, executed: Path | None = None) -> int:
    os.environ["COURSE_FAST"] = "1"  # as `make test` runs the claims test; claims_parameters set the sizes quoted
    nb = nbformat.read(path, as_version=4)
    claims = read_claims(nb, path.name)
    parameters = {"WEIGHTS": "pretrained"} if _has_weights_switch(nb) else {}
    parameters.update(nb.metadata.get("claims_parameters", {}))
    run = run_notebook(path, parameters, claims, timeout=1200)
    if executed is not None:
        nbformat.write(run["nb"], executed)
    moved, manual = 0, []
    for key, claim in enumerate(claims):
        if claim.expr is None or (claim.source is not None and claim.source != run["source"]):
            continue
        got = run["values"].get(str(key))
        if not isinstance(got, float):
            manual.append(f"{claim.where}: expr failed: {got}")
            continue
        matches = locate(claim.text, claim.value)
        shown = matches[0][0] if len(matches) == 1 else None
        decimals = len(shown.split(".")[1]) if shown and "." in shown else 0
        if abs(got - claim.value) <= claim.tol and not (exact and shown and f"{got:.{decimals}f}" != shown):
            continue
        moved += 1
        print(f"{claim.where}: quoted {claim.value}, measured {got:.4g} (tol {claim.tol})")
        if not write:
            continue
        cell = nb.cells[claim.cell]
        if len(matches) != 1 or cell.source.count(claim.text) != 1:
            manual.append(f"{claim.where}: number {claim.value} not found once in the text, or the text not once in "
                          "the cell; edit by hand")
            continue
        match, old_text = matches[0], claim.text
        new_number = f"{got:.{decimals}f}"
        new_text = claim.text[: match.start()] + new_number + claim.text[match.end():]
        cell.source = cell.source.replace(claim.text, new_text, 1)
        for raw in cell.metadata["claims"]:
            if raw["text"] == claim.text:
                raw["text"] = new_text
        for other in claims:  # this claim and later ones of this cell that quote the same text now quote the new one
            if other.cell == claim.cell and other.text == old_text:
                other.text = new_text
        for raw in cell.metadata["claims"]:
            if raw.get("expr") == claim.expr and raw["text"] == new_text:
                raw["value"] = round(got, max(decimals, 1) + 1) if decimals < 3 else round(got, decimals + 1)
        print(f"    {old_text!r} -> {new_text!r}")
    for index, cell in enumerate(nb.cells):  # a rewrite inside one claim's text can break another's overlapping text
        for raw in cell.metadata.get("claims", []):
            if raw["text"] not in cell.source:
                manual.append(f"{path.name}, cell {index}: claim text {raw['text']!r} is no longer in the cell")
    for line in manual:
        print("MANUAL:", line)
    if write:
        nbformat.write(nb, path)
    print(f"{path.name}: {moved} of {len(claims)} claims moved; {len(manual)} need a hand edit")
    return moved


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--executed", type=Path, help="also save the executed notebook here (one notebook only)")
    parser.add_argument("--exact", action="store_true",
                        help="also rewrite numbers within tolerance whose printed digits differ (after a retrain)")
    args = parser.parse_args()
    for notebook in args.notebooks:
        refresh(notebook.resolve(), args.write, args.exact, args.executed)
