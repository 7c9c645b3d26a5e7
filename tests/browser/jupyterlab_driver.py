"""Drive a real JupyterLab in a real browser: server, notebook copies, run-all, widget probes.

Used by ``test_widgets_in_jupyterlab.py``. Chromium is Debian's (``/usr/bin/chromium``), driven by the
Python ``playwright`` package; Playwright's own browser download is never used.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from scripts.train_pretrained import inject_parameters  # noqa: E402

CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
# as known to work on the course machines: no sandbox (root in CI), no GPU, no calls home
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]
ARTIFACTS = ROOT / "artifacts" / "browser"
HOW_TO_ENABLE = (
    "browser test skipped: {what}. Enable it with `sudo apt-get install chromium` (Debian/Ubuntu; the test "
    "uses /usr/bin/chromium, or $COURSE_CHROMIUM) and `pip install playwright` (in .venv; `make test` installs "
    "it from requirements.txt). Playwright's own browser download is not needed."
)

# JupyterLab settings for the test profile: every cell in the DOM (no virtual scrolling), no news pop-up
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"checkForUpdates": False,
                                                                         "fetchNews": "false"},
}


def missing_requirement() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package `playwright` is not installed"
    return None


# --------------------------------------------------------------------------- notebooks


def prepare_notebook(source: Path, folder: Path, parameters: dict) -> Path:
    """A copy of ``source`` in ``folder`` with no outputs and ``parameters`` injected after its
    parameters cell (as papermill would). The original notebook is never touched."""
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    inject_parameters(nb, parameters)
    target = folder / source.name
    nbformat.write(nb, target)
    return target


def error_outputs(path: Path) -> list[str]:
    """'cell N: ename: evalue' for every error output saved in the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
    return found


# --------------------------------------------------------------------------- server


class JupyterLabServer:
    """``jupyter lab`` from this Python environment on a localhost port of its own with a random token,
    isolated config/settings folders under ``home``, extra environment for its kernels.

    Nothing is picked free and bound later (another process could take it in between, see the kernel note in
    tests/conftest.py): the server binds port 0 itself and reports the port it got in its runtime file; its
    kernels use the IPC transport, their sockets in a short runtime folder (a Unix socket path has 107 bytes)."""

    def __init__(self, root_dir: Path, home: Path, env: dict[str, str]):
        self.root_dir, self.home = root_dir, home
        self.port: int | None = None  # known once the server runs
        self.token = secrets.token_hex(16)
        self.log_path = home / "jupyterlab.log"
        self.env = {**os.environ, **env}
        for name in ("config", "data", "settings", "workspaces"):
            (home / name).mkdir(parents=True, exist_ok=True)
        self.runtime = Path(tempfile.mkdtemp(prefix="jlab-"))
        self.env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
                        JUPYTER_RUNTIME_DIR=str(self.runtime), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
                        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
        for name, values in LAB_SETTINGS.items():
            plugin_file = home / "settings" / name  # settings/@jupyterlab/<plugin>-extension/<name>.jupyterlab-settings
            plugin_file.parent.mkdir(parents=True, exist_ok=True)
            plugin_file.write_text(json.dumps(values))
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> None:
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            f"--ServerApp.root_dir={self.root_dir}", "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}", "--KernelManager.transport=ipc",
            "--ServerApp.terminals_enabled=False", "--LabApp.extension_manager=readonly",
        ]
        self._log = open(self.log_path, "w")  # closed in stop()
        self.process = subprocess.Popen(command, cwd=self.root_dir, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.port = self.port or self._port_from_runtime_file()
                if self.port:
                    with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as reply:
                        if reply.status == 200:
                            return
            except OSError:
                pass  # not listening yet: poll again until the deadline, which raises with the server's log
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def _port_from_runtime_file(self) -> int | None:
        """The port the server bound, from the jpserver-<pid>.json it writes once it listens."""
        info = self.runtime / f"jpserver-{self.process.pid}.json"
        try:
            return int(json.loads(info.read_text())["port"])
        except (OSError, ValueError, KeyError):
            return None  # not written yet (or half-written): ask again

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lab_url(self, notebook: str) -> str:
        """The notebook alone in a workspace of its own (``reset``: no tabs restored from earlier pages)."""
        workspace = re.sub(r"\W+", "-", notebook)
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={self.token}"

    def shut_down_kernel(self, notebook: str) -> None:
        """End the kernel of ``notebook``'s session (frees the CPU and memory for the next notebook)."""
        sessions = self._api("GET", "/api/sessions")
        for session in sessions:
            if session.get("path", "").endswith(notebook):
                self._api("DELETE", f"/api/sessions/{session['id']}")

    def kernel_state(self, notebook: str) -> str | None:
        """The execution state the server reports for ``notebook``'s kernel, None without a session."""
        for session in self._api("GET", "/api/sessions"):
            if session.get("path", "").endswith(notebook):
                return (session.get("kernel") or {}).get("execution_state")
        return None

    def _api(self, method: str, path: str):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # jupyter shuts its kernels down on SIGTERM
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.runtime, ignore_errors=True)


def launch_chromium(playwright, profile_dir: Path, viewport=(1400, 1000)):
    """Debian's Chromium, headless, with a fresh profile folder."""
    return playwright.chromium.launch_persistent_context(
        str(profile_dir), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport={"width": viewport[0], "height": viewport[1]},
    )


# --------------------------------------------------------------------------- notebook in the page

PROMPTS_JS = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt'))
                     .map(e => e.textContent.trim())"""


def kernel_status(page) -> str:
    return page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status") or ""


def wait_for_kernel_idle(page, server: JupyterLabServer, notebook: str, timeout: float = 120.0) -> None:
    """Until the server reports the notebook's kernel idle and the notebook's toolbar shows it idle."""
    deadline = time.monotonic() + timeout
    while server.kernel_state(notebook) != "idle" or kernel_status(page) != "idle":
        if time.monotonic() > deadline:
            raise AssertionError(f"the kernel of {notebook} was not idle after {timeout:.0f} s (server: "
                                 f"{server.kernel_state(notebook)!r}, page: {kernel_status(page)!r})")
        time.sleep(0.25)
    page.wait_for_timeout(500)  # the page's kernel connection settles (widget manager registered)


def open_notebook(page, server: JupyterLabServer, name: str) -> None:
    page.goto(server.lab_url(name))
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
    wait_for_kernel_idle(page, server, name)


def run_all_cells(page) -> None:
    """Run ▸ Run All Cells, through the menu bar as a person would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def wait_for_run_all(page, timeout: float) -> dict:
    """Wait until no cell is queued or running and the kernel is idle. Returns the prompts and the
    seconds it took; cells never executed (Run All stops at an error) keep an empty prompt."""
    began = time.monotonic()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:  # Run All queues every cell at once: at least one shows [*] right after the click
        page.wait_for_function(f"() => ({PROMPTS_JS})().some(p => p === '[*]:')", timeout=30_000)
    except PlaywrightTimeout as error:
        raise AssertionError(f"Run All Cells did not start any cell; prompts: {page.evaluate(PROMPTS_JS)}") from error
    quiet_since = None
    while True:
        prompts = page.evaluate(PROMPTS_JS)
        busy = any(p == "[*]:" for p in prompts) or kernel_status(page) != "idle"
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.5:  # idle and nothing queued for 1.5 s: finished
            return {"prompts": prompts, "seconds": time.monotonic() - began}
        if time.monotonic() - began > timeout:
            raise AssertionError(f"Run All Cells did not finish within {timeout:.0f} s; prompts: {prompts}")
        time.sleep(0.25)


def save_notebook(page) -> None:
    """File ▸ Save through the notebook toolbar's save button; wait until the tab is no longer dirty."""
    page.locator('.jp-NotebookPanel-toolbar [data-command="docmanager:save"]').first.click()
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')", timeout=30_000)


def traceback_texts(page) -> list[str]:
    """Text of every output that shows a Python traceback. JupyterLab renders error outputs with the
    stderr mime type, so stderr outputs are kept only when they hold a traceback (not a warning)."""
    texts = page.evaluate("""() => Array.from(document.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],'
        + ' .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')).map(e => e.innerText)""")
    pattern = re.compile(r"Traceback \(most recent call last\)|^-{20,}\s*\n\s*\w+(Error|Exception)\b|"
                         r"^\w+(Error|Exception): ", re.M)
    return [t for t in texts if pattern.search(t)]


WIDGET_PROBLEMS = re.compile(r"Error displaying widget|model not found|Failed to load model class|"
                             r"Error creating view", re.I)


def widget_problems(page) -> list[str]:
    text = page.locator(".jp-Notebook").first.inner_text()
    return sorted({m.group(0) for m in WIDGET_PROBLEMS.finditer(text)})


# --------------------------------------------------------------------------- widgets

SLIDER_XPATH_ROOT = ("xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' widget-vbox ')]"
                     "[.//img][1]")


def slider(page, description: str):
    """The ipywidgets slider whose description label reads ``description`` exactly."""
    label = page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(description)}\s*$"))
    return page.locator(".widget-slider", has=label)


def explorer_of(slider_locator):
    """The widget box (an ipywidgets VBox) that holds the slider and the images it drives."""
    return slider_locator.locator(SLIDER_XPATH_ROOT)


def slider_state(slider_locator) -> dict:
    """``now``: the value the slider's readout shows (the handle's aria-valuenow is rounded by
    noUiSlider); ``min``/``max`` from the handle."""
    handle = slider_locator.locator(".noUi-handle").first
    state = {name: float(handle.get_attribute(f"aria-value{name}")) for name in ("min", "max")}
    state["now"] = float(slider_locator.locator(".widget-readout").first.inner_text().strip().replace("−", "-"))
    return state


PROBE_JS = """(root) => {
    // Timestamps in the page's clock: every key press, every change of an <img> src inside the widget,
    // and the first animation frame after the new picture is decoded (when it is on screen).
    const probe = {keys: [], shown: []};
    window.__widgetProbe = probe;
    document.addEventListener('keydown', () => probe.keys.push(performance.now()), true);
    root.querySelectorAll('img').forEach((img, index) => {
        new MutationObserver(() => {
            const changed = performance.now();
            const key = probe.keys.length ? probe.keys[probe.keys.length - 1] : null;
            img.decode().catch(() => null).then(() => requestAnimationFrame(() => {
                probe.shown.push({img: index, key: key, changed: changed, shown: performance.now()});
            }));
        }).observe(img, {attributes: true, attributeFilter: ['src']});
    });
    return root.querySelectorAll('img').length;
}"""


def install_probe(explorer) -> int:
    return explorer.evaluate(PROBE_JS)


def shown_events(page, img: int) -> list[dict]:
    return page.evaluate(f"() => window.__widgetProbe.shown.filter(e => e.img === {img})")


IMAGE_BYTES_JS = """async (img) => {
    const reply = await fetch(img.src);
    const bytes = new Uint8Array(await reply.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
}"""


def image_pixels(explorer, img: int) -> tuple[np.ndarray, bytes]:
    """The picture an <img> of the widget shows now, decoded (grey levels) and as the PNG it was sent as."""
    from PIL import Image

    png = base64.b64decode(explorer.locator("img").nth(img).evaluate(IMAGE_BYTES_JS))
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), np.int16), png


def press_and_wait(page, slider_locator, key: str, img: int, what: str = "the slider",
                   timeout_ms: float = 20_000) -> dict:
    """Press ``key`` on the slider's focused handle; wait until image ``img`` has been replaced and
    painted. Returns the probe's record (page-clock milliseconds) with ``latency_ms`` added."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    before = len(shown_events(page, img))
    handle = slider_locator.locator(".noUi-handle").first
    handle.focus()
    handle.press(key)
    try:
        page.wait_for_function(
            f"() => window.__widgetProbe.shown.filter(e => e.img === {img}).length > {before}", timeout=timeout_ms)
    except PlaywrightTimeout as error:  # say what the person would have seen
        raise AssertionError(
            f"{what}: pressing {key} on the slider (now at {slider_state(slider_locator)['now']}) did not replace "
            f"image {img} of its widget within {timeout_ms / 1000:.0f} s: the widget does not respond (its callback "
            "raised, or redrew the same picture; errors in widget callbacks go to JupyterLab's log console)"
        ) from error
    record = shown_events(page, img)[before]
    record["latency_ms"] = record["shown"] - record["key"]
    return record
