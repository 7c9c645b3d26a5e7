"""The guides (guides/*.md), the README and the notebooks' markdown link to files that exist: a renamed notebook
or guide breaks a test, not a student's click."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")
DOCUMENTS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "guides").glob("*.md"))]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))


def relative_targets(text: str) -> list[str]:
    """Links that point into the repository (no scheme, no pure #anchor), without their #anchor."""
    found = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        found.append(target.split("#", 1)[0])
    return found


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_document_links_resolve(path):
    missing = [t for t in relative_targets(path.read_text()) if not (path.parent / t).exists()]
    assert not missing, f"{path.relative_to(ROOT)} links to files that do not exist: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
def test_notebook_links_into_the_repository_resolve(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    missing = [t for t in relative_targets(text) if not (path.parent / t).exists()]
    assert not missing, f"{path.relative_to(ROOT)} links to files that do not exist: {missing}"


def test_errata_list_every_topic_notebook_it_names():
    errata = (ROOT / "guides" / "lecture_errata.md").read_text()
    for number in ("01", "02", "03", "04", "05"):
        assert re.search(rf"\]\(\.\./notebooks/{number}_\w+\.ipynb\)", errata), f"no row for notebook {number}"
    linked = [p.name for p in NOTEBOOKS if "guides/lecture_errata.md" in p.read_text()]
    assert {"01_gan.ipynb", "02_cgan.ipynb", "03_dcgan.ipynb", "04_vae.ipynb", "05_cvae.ipynb"} <= set(linked)
