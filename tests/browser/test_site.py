"""The course site renders for a reader: pictures load, formulas are typeset, the index links every page.

Builds a small site (``scripts/build_site.py --fast``: the setup check and the VAE notebook, which
has formulas, figures and two explorers; pretrained weights, fast mode; executed copies are cached
in artifacts/executed/), serves it on a local port and opens the index and the VAE page in Debian's
Chromium. ``make site`` builds every notebook the same way.

Skipped, with a message saying how to enable it, without /usr/bin/chromium or the playwright package.
"""

from __future__ import annotations

import functools
import http.server
import re
import sys
import threading
import time

import jupyterlab_driver as lab
import pytest

_missing = lab.missing_requirement()
if _missing:
    pytest.skip(lab.HOW_TO_ENABLE.format(what=_missing).replace("browser test", "site test"),
                allow_module_level=True)

try:
    import jupyter_server_mathjax  # noqa: F401
except ImportError:
    pytest.skip("site test skipped: the site's MathJax comes from jupyter-server-mathjax; install it with "
                "`.venv/bin/pip install -r requirements-docs.txt` (`make site` does)", allow_module_level=True)

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

if str(lab.ROOT) not in sys.path:
    sys.path.insert(0, str(lab.ROOT))
from scripts import build_site  # noqa: E402

NOTEBOOKS = ["00_setup", "04_vae"]
PAGE_WITH_MATHS = "04_vae.html"
MATHJAX_TIMEOUT_MS = 30_000


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:  # the test reports failed requests itself
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    began = time.perf_counter()
    pages = build_site.build(build_site.resolve(NOTEBOOKS), folder, fast=True)
    print(f"\nsite of {len(NOTEBOOKS)} notebooks built in {time.perf_counter() - began:.0f} s")
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", pages
    server.shutdown()


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    with sync_playwright() as playwright:
        context = lab.launch_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
        page = context.new_page()
        failed = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.failed_local_requests = failed
        yield page
        context.close()


def open_page(page, url: str) -> None:
    page.failed_local_requests.clear()
    page.goto(url, wait_until="load")
    # MathJax 2 typesets after load: wait until its queue has run (it is there on every page)
    try:
        page.wait_for_function("window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 && "
                               "!MathJax.Hub.queue.running", timeout=MATHJAX_TIMEOUT_MS)
    except PlaywrightTimeout:
        pytest.fail(f"MathJax did not load or finish on {url} within {MATHJAX_TIMEOUT_MS // 1000} s, so its "
                    f"formulas stay raw TeX; failed requests: {page.failed_local_requests[:5]}")
    page.evaluate("() => new Promise(resolve => MathJax.Hub.Queue(resolve))")


def image_report(page) -> dict:
    """The site's own pictures (data: URIs and files it serves). The Colab/Binder badges are external images,
    which a published site loads but this offline machine cannot: they are left out."""
    return page.evaluate("""() => {
        const images = [...document.images].filter(i => !/^https?:/.test(i.getAttribute('src') || '')
                                                       || i.src.startsWith(location.origin));
        return {count: images.length,
                broken: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80))};
    }""")


def test_index_links_every_notebook_page(site, browser_page):
    base, pages = site
    open_page(browser_page, f"{base}/index.html")
    hrefs = browser_page.eval_on_selector_all(".jp-RenderedMarkdown a",
                                              "links => links.map(a => a.getAttribute('href'))")
    expected = {build_site.page_name(path) for path in build_site.resolve(NOTEBOOKS)}
    assert expected <= set(hrefs), f"index links {hrefs}, missing {expected - set(hrefs)}"
    assert "Variational autoencoder" in browser_page.inner_text("body")
    for href in expected:  # every link leads to a page that loads
        response = browser_page.request.get(f"{base}/{href}")
        assert response.ok, f"{href}: HTTP {response.status}"
    assert [p.name for p in pages] == ["index.html", *(f"{name}.html" for name in NOTEBOOKS)]


def test_notebook_page_shows_pictures_formulas_and_static_widgets(site, browser_page):
    base, _ = site
    open_page(browser_page, f"{base}/{PAGE_WITH_MATHS}")
    images = image_report(browser_page)
    # reconstructions, latent map, manifold, interpolations, and the explorers' pictures
    assert images["count"] >= 6, f"only {images['count']} pictures on {PAGE_WITH_MATHS}"
    assert not images["broken"], f"pictures that did not load: {images['broken']}"

    typeset = browser_page.eval_on_selector_all(".MathJax, .MathJax_Display", "nodes => nodes.length")
    assert typeset >= 10, f"only {typeset} typeset formulas: MathJax did not run on {PAGE_WITH_MATHS}"
    errors = browser_page.eval_on_selector_all(".MathJax_Error, .merror", "nodes => nodes.map(n => n.textContent)")
    assert not errors, f"MathJax could not typeset: {errors[:5]}"
    prose = "\n".join(browser_page.eval_on_selector_all(".jp-RenderedMarkdown", "nodes => nodes.map(n => n.innerText)"))
    assert "$$" not in prose, "raw $$ left in the rendered text"
    raw_inline = re.findall(r"\$[^$\n]{0,40}\\[a-zA-Z]+[^$\n]{0,40}\$", prose)
    assert not raw_inline, f"raw inline TeX left in the text: {raw_inline[:3]}"

    notes = browser_page.locator("text=live in JupyterLab or Colab")
    assert notes.count() >= 2, "each explorer should be shown as its picture with the 'live in JupyterLab' note"
    widget_pictures = browser_page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-child')]
        .filter(o => o.innerText.includes('live in JupyterLab or Colab'))
        .map(o => o.previousElementSibling && o.previousElementSibling.querySelector('img'))
        .map(img => img ? img.naturalWidth : 0)""")
    assert widget_pictures and all(width > 0 for width in widget_pictures), \
        f"an explorer's note without its picture above it: widths {widget_pictures}"
    assert "Error displaying widget" not in browser_page.inner_text("body")
    # MathJax's hidden assistive MathML (for screen readers) asks for TeX fonts that jupyter-server-mathjax
    # does not ship; the visible formulas use its STIX-Web fonts. Any other missing site file is a failure.
    local_failures = [url for url in browser_page.failed_local_requests
                      if url.startswith(base) and "/mathjax/fonts/HTML-CSS/TeX/otf/" not in url]
    assert not local_failures, f"requests for site files failed: {local_failures}"
