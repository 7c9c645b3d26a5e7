"""The latent-space widgets work for a person: JupyterLab in a real browser (issue 9).

One JupyterLab server for the module (free localhost port, random token, throw-away config and runs
folders, COURSE_FAST=1), Debian's Chromium driven by Playwright. Each notebook is copied with
``WEIGHTS = "pretrained"`` injected and its outputs cleared, opened once, run with Run ▸ Run All Cells,
saved, and checked: every code cell executed, no traceback, no broken widget. Then its sliders are
moved with the keyboard on the focused handle, and the picture the widget shows (the PNG behind its
<img>, decoded) must change. The time from key press to the new picture painted is measured in the
page, 20 times per notebook. Screenshots and timings go to artifacts/browser/.

Skipped, with a message saying how to enable it, without /usr/bin/chromium or the playwright package.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import jupyterlab_driver as lab
import numpy as np
import pytest

_missing = lab.missing_requirement()
if _missing:
    pytest.skip(lab.HOW_TO_ENABLE.format(what=_missing), allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

RUN_ALL_TIMEOUT_S = 600
LATENCY_MOVES = 20


@dataclass(frozen=True)
class Case:
    notebook: str
    # slider description -> indices of the <img> elements (in the slider's widget box) that must change
    sliders: dict[str, tuple[int, ...]]
    timed: tuple[str, int]  # the slider and image whose key-press-to-picture latency is measured
    parameters: dict = field(default_factory=lambda: {"WEIGHTS": "pretrained"})


CASES = [
    Case("01_gan.ipynb",
         sliders={"direction 1": (0,), "direction 2": (0,), "direction 3": (0,), "direction 4": (0,), "z → z'": (0,)},
         timed=("direction 1", 0)),
    # ConditionalGanExplorer: the picked label's digit and the strip of all ten labels both follow z
    Case("02_cgan.ipynb", sliders={"direction 1": (0, 1), "direction 2": (0, 1)}, timed=("direction 1", 0)),
    # InterpolationExplorer: one strip, both generators side by side
    Case("03_dcgan.ipynb", sliders={"z_a → z_b": (0,)}, timed=("z_a → z_b", 0)),
    # VaeLatentExplorer: image 0 is the latent map with the marker, image 1 the decoded digit
    Case("04_vae.ipynb", sliders={"z₁": (0, 1), "z₂": (0, 1), "A → B": (0,)}, timed=("z₁", 1)),
    # CvaeStyleExplorer (test digit -> its style under every label) and CvaeLatentExplorer
    Case("05_cvae.ipynb", sliders={"test digit": (0, 1), "z1": (0, 1), "z2": (0, 1)}, timed=("z1", 0)),
]

LATENCIES: dict[str, dict] = {}


@pytest.fixture(scope="module")
def artifacts():
    lab.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return lab.ARTIFACTS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("jupyterlab")
    root_dir = home / "notebooks"
    root_dir.mkdir()
    for case in CASES:
        lab.prepare_notebook(lab.ROOT / "notebooks" / case.notebook, root_dir, case.parameters)
    runs = home / "runs"
    env = {"COURSE_FAST": "1", "COURSE_RUNS_DIR": str(runs), "TF_CPP_MIN_LOG_LEVEL": "3"}
    jupyter = lab.JupyterLabServer(root_dir, home, env)
    jupyter.start()
    yield jupyter
    jupyter.stop()


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    with sync_playwright() as playwright:
        context = lab.launch_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
        yield context
        context.close()


@pytest.fixture(scope="module", params=CASES, ids=lambda case: case.notebook.removesuffix(".ipynb"))
def executed(request, server, browser, artifacts):
    """The notebook opened in JupyterLab, Run All Cells done and saved; what the run left behind."""
    case = request.param
    stem = case.notebook.removesuffix(".ipynb")
    page = browser.new_page()
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    lab.open_notebook(page, server, case.notebook)
    lab.run_all_cells(page)
    run = lab.wait_for_run_all(page, RUN_ALL_TIMEOUT_S)
    lab.save_notebook(page)
    notebook_shot(page, artifacts / f"{stem}_after_run_all.png")
    yield {"case": case, "stem": stem, "page": page, "run": run, "console": console, "server": server}
    (artifacts / f"{stem}_browser_console.log").write_text("\n".join(console))
    page.close()
    server.shut_down_kernel(case.notebook)


def notebook_shot(page, path) -> None:
    """The whole notebook in one picture: the viewport is stretched to the notebook's scroll height
    (at most 16,000 px), then put back."""
    width = page.viewport_size["width"]
    scroller = ".jp-NotebookPanel .jp-WindowedPanel-outer"
    page.locator(scroller).first.evaluate("el => el.scrollTo(0, 0)")
    height = page.locator(scroller).first.evaluate("el => el.scrollHeight")
    page.set_viewport_size({"width": width, "height": min(16_000, int(height) + 200)})
    page.wait_for_timeout(500)
    page.screenshot(path=path)
    page.set_viewport_size({"width": width, "height": 1000})


def test_server_kernels_use_unix_sockets(executed):
    """The server's kernels use the IPC transport (no TCP port to lose to another process; tests/conftest.py)."""
    files = list(executed["server"].runtime.glob("kernel-*.json"))
    assert files and {json.loads(f.read_text())["transport"] for f in files} == {"ipc"}


def test_every_cell_runs_without_error(executed):
    run, page, stem = executed["run"], executed["page"], executed["stem"]
    not_run = [i for i, prompt in enumerate(run["prompts"]) if not re.fullmatch(r"\[\d+\]:", prompt)]
    saved = executed["server"].root_dir / executed["case"].notebook
    errors = lab.error_outputs(saved)
    tracebacks = lab.traceback_texts(page)
    assert not errors and not tracebacks, (
        f"{stem}: error outputs after Run All Cells: {errors}\n" + "\n---\n".join(t[-1500:] for t in tracebacks))
    assert not not_run, f"{stem}: code cells {not_run} (0-based, code cells only) did not run: {run['prompts']}"
    print(f"\n{stem}: Run All Cells finished in {run['seconds']:.1f} s ({len(run['prompts'])} code cells)")


def test_widgets_display(executed):
    page, stem = executed["page"], executed["stem"]
    problems = lab.widget_problems(page)
    assert not problems, f"{stem}: a widget shows {problems} (see artifacts/browser/{stem}_after_run_all.png)"
    for description in executed["case"].sliders:
        found = lab.slider(page, description)
        assert found.count() == 1, f"{stem}: expected one slider labelled {description!r}, found {found.count()}"
        images = lab.explorer_of(found).locator("img")
        assert images.count() >= 1, f"{stem}: the widget with slider {description!r} shows no image"


def test_sliders_change_the_picture(executed, artifacts):
    page, case, stem = executed["page"], executed["case"], executed["stem"]
    for description, watched in case.sliders.items():
        control = lab.slider(page, description)
        explorer = lab.explorer_of(control)
        explorer.scroll_into_view_if_needed()
        lab.install_probe(explorer)
        name = re.sub(r"\W+", "_", description.translate(str.maketrans("₁₂", "12"))).strip("_")
        explorer.screenshot(path=artifacts / f"{stem}_{name}_before.png")
        before = {i: lab.image_pixels(explorer, i)[0] for i in watched}
        for i, pixels in before.items():
            assert pixels.std() > 1, f"{stem}: image {i} of the {description!r} widget is blank before any move"
        state = lab.slider_state(control)
        key = "ArrowRight" if state["now"] < state["max"] else "ArrowLeft"
        for _ in range(5):  # up to five steps (fewer when the slider reaches its end), each answered by a new picture
            now = lab.slider_state(control)["now"]
            if (key == "ArrowRight" and now >= state["max"]) or (key == "ArrowLeft" and now <= state["min"]):
                break
            lab.press_and_wait(page, control, key, watched[-1], what=f"{stem} {description!r}")
        page.wait_for_timeout(300)  # let the other watched images (the VAE's map) arrive too
        moved = lab.slider_state(control)
        assert moved["now"] != state["now"], f"{stem}: {key} did not move slider {description!r}: {moved}"
        explorer.screenshot(path=artifacts / f"{stem}_{name}_after.png")
        for i in watched:
            after = lab.image_pixels(explorer, i)[0]
            assert after.shape == before[i].shape, f"{stem}: image {i} changed size: {before[i].shape} -> {after.shape}"
            changed = int((after != before[i]).sum())
            assert changed > 0, (
                f"{stem}: moving {description!r} from {state['now']} to {moved['now']} left image {i} of its widget "
                f"pixel-for-pixel the same: the widget's callback does not redraw")
            print(f"\n{stem}: {description!r} {state['now']:+.2f} -> {moved['now']:+.2f}: "
                  f"image {i}: {changed} of {after.size} pixels changed")


def test_slider_to_picture_latency(executed, artifacts):
    page, case, stem = executed["page"], executed["case"], executed["stem"]
    description, img = case.timed
    control = lab.slider(page, description)
    explorer = lab.explorer_of(control)
    explorer.scroll_into_view_if_needed()
    lab.install_probe(explorer)
    state = lab.slider_state(control)
    room_right = round((state["max"] - state["now"]) / (state["max"] - state["min"]) * 100)
    first = "ArrowRight" if room_right > 50 else "ArrowLeft"
    other = "ArrowLeft" if first == "ArrowRight" else "ArrowRight"
    # alternate: every press moves the slider (and asks for a new picture), however few steps its range has
    keys = [first if i % 2 == 0 else other for i in range(LATENCY_MOVES)]
    records = [lab.press_and_wait(page, control, key, img, what=f"{stem} {description!r}") for key in keys]
    latencies = np.array([r["latency_ms"] for r in records])
    to_src = np.array([r["changed"] - r["key"] for r in records])
    summary = {
        "notebook": case.notebook, "slider": description, "n": len(latencies),
        "median_ms": round(float(np.median(latencies)), 1), "min_ms": round(float(latencies.min()), 1),
        "max_ms": round(float(latencies.max()), 1),
        "median_key_to_src_ms": round(float(np.median(to_src)), 1),
        "all_ms": [round(float(v), 1) for v in latencies],
        "measured": "keydown on the slider handle -> first animation frame after the new <img> is decoded",
    }
    LATENCIES[stem] = summary
    (artifacts / "latency.json").write_text(json.dumps(LATENCIES, indent=2, ensure_ascii=False))
    print(f"\n{stem}: slider {description!r} -> new picture on screen: median {summary['median_ms']} ms "
          f"(min {summary['min_ms']}, max {summary['max_ms']}, n={summary['n']}; key -> src change median "
          f"{summary['median_key_to_src_ms']} ms)")
    assert len(latencies) == LATENCY_MOVES
    assert np.median(latencies) < 2000, f"{stem}: the sliders are not interactive: {summary}"
