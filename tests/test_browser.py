"""The built book, read in a real browser with no network: headless Chromium over the DevTools pipe.

The smoke book is built once per session (``dreamrg book --profile smoke`` into a temporary directory,
~3 min cold; the ``smoke_book`` fixture of ``tests/conftest.py``, shared with ``test_book.py``) and every page is loaded in headless Chromium, in a network namespace of its own when run as
root (``unshare -n``), and always with every request outside ``file:``/``data:`` recorded as a
failure. The browser is driven through ``--remote-debugging-pipe`` (the DevTools protocol on file
descriptors 3 and 4), so nothing beyond the standard library and a Chromium binary is needed.

Each test checks one property over all pages and names every page (and element) that fails:
math typeset, every resource local and loaded, every image loaded, no truncated table, every output
figure captioned (and numbered), no parameter cell, working search, downloadable notebooks.

Chromium: ``make test`` installs it (``apt-get install -y chromium`` as root); without it these tests
skip, naming what to install. ``DREAMRG_CHROMIUM`` names another binary; ``DREAMRG_BROWSER_HTML``
points at an already built ``_build/html`` to check instead of building (e.g. a paper-profile book).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

INSTALL_HINT = ("headless Chromium is needed for the browser test of the book: `make test` installs it as root "
                "with apt (`apt-get install -y chromium`); elsewhere install Chromium or Google Chrome and put it "
                "on PATH, or set DREAMRG_CHROMIUM=/path/to/chrome")
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:", "devtools:")
PAGE_TIMEOUT = 60.0


# ----------------------------------------------------------------------------- the DevTools pipe
def chromium_binary() -> str | None:
    named = os.environ.get("DREAMRG_CHROMIUM")
    if named:
        return named if shutil.which(named) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _can_unshare_network() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


class Browser:
    """Headless Chromium driven over ``--remote-debugging-pipe`` (NUL-separated JSON messages)."""

    def __init__(self, binary: str, profile_dir: Path, isolate: bool) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the browser reads commands on fd 3 and writes replies on fd 4
        high_r = os.dup(to_browser_r) if to_browser_r < 5 else to_browser_r
        high_w = os.dup(from_browser_w) if from_browser_w < 5 else from_browser_w
        while high_r < 5:
            high_r = os.dup(high_r)
        while high_w < 5:
            high_w = os.dup(high_w)

        def child_fds() -> None:
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        args = [binary, "--headless=new", "--remote-debugging-pipe", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--disable-default-apps", "--mute-audio",
                "--window-size=1280,900", f"--user-data-dir={profile_dir}"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        if isolate:
            args = ["unshare", "-n", *args]
        self.isolated = isolate
        # close_fds=False: the dup2'd fds 3 and 4 are inheritable; every other descriptor of this process is
        # close-on-exec (Python's default), so the browser gets exactly these two
        self._proc = subprocess.Popen(args, preexec_fn=child_fds, close_fds=False, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in {to_browser_r, from_browser_w, high_r, high_w}:
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.call(f"{domain}.enable", session=True)

    def _read_message(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (it exited)")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: bool = False, timeout: float = PAGE_TIMEOUT, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, timeout: float = PAGE_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event["method"] == method:
                return self.events.pop(i)
        while True:
            reply = self._read_message(deadline)
            if reply.get("method") == method:
                return reply
            if "method" in reply:
                self.events.append(reply)

    def evaluate(self, expression: str, timeout: float = PAGE_TIMEOUT):
        result = self.call("Runtime.evaluate", session=True, timeout=timeout, expression=expression,
                           awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def load(self, url: str) -> tuple[list[str], list[str]]:
        """Navigate and wait for the load event; returns (every requested URL, URLs that failed to load)."""
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_event("Page.loadEventFired")
        self.call("Runtime.evaluate", session=True, expression="1")  # drain events queued so far
        requests = {e["params"]["requestId"]: e["params"]["request"]["url"]
                    for e in self.events if e["method"] == "Network.requestWillBeSent"}
        failed = [f"{requests.get(e['params']['requestId'], '?')} ({e['params'].get('errorText')})"
                  for e in self.events if e["method"] == "Network.loadingFailed"]
        return list(requests.values()), failed

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


# ----------------------------------------------------------------------------- what is checked on a page
#: Runs in the page after its load event: waits for MathJax and the images, then reports.
PAGE_REPORT = r"""
(async () => {
  const timeout = ms => new Promise(r => setTimeout(r, ms));
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) {
    await Promise.race([mj.startup.promise, timeout(30000)]);
  }
  const article = document.querySelector("article") || document.body;
  const images = [...article.querySelectorAll("img")];
  images.forEach(img => { img.loading = "eager"; });
  await Promise.race([Promise.all(images.map(img => img.complete ? null :
      new Promise(r => { img.addEventListener("load", r); img.addEventListener("error", r); }))), timeout(20000)]);
  const brief = el => (el.closest("section[id]") ? "#" + el.closest("section[id]").id + " " : "") +
      (el.getAttribute("src") || el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 60);

  // rendered text, without code listings (which may hold LaTeX strings legitimately) and typeset math
  const copy = article.cloneNode(true);
  copy.querySelectorAll("script, style, mjx-container, pre, code, .cell_input, .highlight, .sig, span.pre")
      .forEach(n => n.remove());
  const text = copy.textContent;
  const raw = [];
  // delimited TeX as Sphinx writes it (\( \), \[ \]), $$, \begin{...}, or $...\command...$; a lone "\(" (e.g.
  // in a regular expression shown as text) is not math
  const rawPattern = /\\\([^]{0,400}?\\\)|\\\[[^]{0,2000}?\\\]|\$\$|\\begin\{|\$[^$\s][^$]*?\\[A-Za-z]+[^$]*?\$/g;
  for (const m of text.matchAll(rawPattern)) {
    raw.push(text.slice(Math.max(0, m.index - 30), m.index + 50).replace(/\s+/g, " "));
  }
  const mathNodes = [...article.querySelectorAll(".math")];
  const untypeset = mathNodes.filter(n => !n.querySelector("mjx-container")).map(brief);

  const badImages = images.filter(img => !img.complete || img.naturalWidth === 0).map(brief);
  const outputImages = images.filter(img => img.closest(".cell_output, .output, figure"));
  const uncaptioned = outputImages.filter(img => {
    const fig = img.closest("figure");
    const cap = fig && fig.querySelector("figcaption");
    return !(cap && cap.textContent.trim());
  }).map(brief);
  const unnumbered = outputImages.filter(img => {
    const fig = img.closest("figure");
    return fig && fig.querySelector("figcaption") && !fig.querySelector("figcaption .caption-number");
  }).map(brief);

  const truncated = [];
  for (const m of article.textContent.matchAll(/\d+\s+rows\s+×\s+\d+\s+columns/g)) truncated.push(m[0]);
  for (const table of article.querySelectorAll("table")) {
    const cells = [...table.querySelectorAll("td, th")].filter(c => /^(\.\.\.|…)$/.test(c.textContent.trim()));
    if (cells.length) truncated.push(`${brief(table)}: ${cells.length} "..." cells`);
  }

  // a table wider than the text column widens its frame into the margin (dreamrg.display), within the window
  const viewport = document.documentElement.clientWidth;
  const wide = {widened: 0, cramped: [], pastWindow: [], clipped: []};
  for (const frame of article.querySelectorAll(".dreamrg-frame")) {
    const table = frame.querySelector("table");
    if (!table) continue;
    const right = frame.getBoundingClientRect().right;
    if (frame.classList.contains("wide")) {
      wide.widened += 1;
      if (right > viewport + 1) wide.pastWindow.push(brief(table));
      if (getComputedStyle(frame.parentElement).overflowX !== "visible") wide.clipped.push(brief(table));
    } else if (table.scrollWidth > frame.clientWidth + 1 && right < viewport - 40) {
      wide.cramped.push(brief(table));  // scrolls inside the column although the margin has room
    }
  }

  const injected = [...document.querySelectorAll(".tag_injected-parameters")].map(brief);
  const paramCells = [...document.querySelectorAll(".tag_parameters")].map(brief);
  const paramsText = [...document.querySelectorAll(".cell")].some(c => c.textContent.includes("# Parameters"));

  return {title: document.title, raw, mathNodes: mathNodes.length,
          mjx: document.querySelectorAll("mjx-container").length, untypeset, images: images.length,
          badImages, outputImages: outputImages.length, uncaptioned, unnumbered, truncated,
          injected, paramCells, paramsText, wide,
          download: [...document.querySelectorAll("a")].filter(a => /_sources\/.*\.ipynb$/.test(a.getAttribute("href") || ""))
                       .map(a => a.getAttribute("href"))};
})()
"""

SEARCH_REPORT = r"""
(async () => {
  for (let i = 0; i < 150; i++) {
    const hits = document.querySelectorAll("#search-results li");
    const done = document.querySelector("#search-results p.search-summary, #search-results .search-summary");
    if (hits.length || (done && /found/.test(done.textContent))) {
      return {hits: [...hits].map(li => li.textContent.trim().slice(0, 60)),
              summary: done ? done.textContent.trim() : ""};
    }
    await new Promise(r => setTimeout(r, 100));
  }
  return {hits: [], summary: "timed out: " + (document.querySelector("#search-results") || {textContent: "no results element"}).textContent.trim().slice(0, 200)};
})()
"""


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def html_dir(request) -> Path:
    given = os.environ.get("DREAMRG_BROWSER_HTML")
    if given:
        path = Path(given)
        assert (path / "index.html").is_file(), f"DREAMRG_BROWSER_HTML={given} holds no built book"
        return path
    if chromium_binary() is None:
        pytest.skip(INSTALL_HINT)
    return request.getfixturevalue("smoke_book").parent  # tests/conftest.py: built once per session


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = chromium_binary()
    if binary is None:
        pytest.skip(INSTALL_HINT)
    b = Browser(binary, tmp_path_factory.mktemp("chromium-profile"), isolate=_can_unshare_network())
    yield b
    b.close()


@pytest.fixture(scope="module")
def pages(html_dir, browser) -> dict[str, dict]:
    """Every content page of the book, loaded once: ``{page name: report}``."""
    reports = {}
    for page in sorted(html_dir.glob("*.html")):
        if page.name in ("search.html", "genindex.html", "py-modindex.html") or page.stat().st_size < 2000:
            continue  # index.html is a redirect to the root page
        requests, failed = browser.load(page.resolve().as_uri())
        report = browser.evaluate(PAGE_REPORT, timeout=120)
        report["remote"] = [u for u in requests if not u.startswith(LOCAL_SCHEMES)]
        report["failed"] = failed
        reports[page.stem] = report
    assert reports, f"no pages in {html_dir}"
    return reports


def _failures(pages: dict[str, dict], key: str) -> dict[str, list]:
    return {name: r[key] for name, r in pages.items() if r[key]}


# ----------------------------------------------------------------------------- the checks
def test_no_request_leaves_the_machine(pages, browser):
    remote = _failures(pages, "remote")
    assert not remote, f"pages requesting non-local URLs (network namespace isolated: {browser.isolated}): {remote}"


def test_every_resource_loads(pages):
    assert not _failures(pages, "failed"), f"resources that failed to load: {_failures(pages, 'failed')}"


def test_math_is_typeset(pages):
    raw = _failures(pages, "raw")
    untypeset = _failures(pages, "untypeset")
    assert not raw and not untypeset, (f"raw LaTeX in the rendered text: {raw}; "
                                       f"math elements without mjx-container: {untypeset}")
    with_math = [name for name, r in pages.items() if r["mathNodes"]]
    assert with_math and all(pages[name]["mjx"] >= pages[name]["mathNodes"] for name in with_math)


def test_every_image_loads(pages):
    assert not _failures(pages, "badImages"), f"images not loaded (naturalWidth 0): {_failures(pages, 'badImages')}"


def test_no_table_is_truncated(pages):
    assert not _failures(pages, "truncated"), f"truncated tables: {_failures(pages, 'truncated')}"


def test_wide_tables_widen_into_the_margin_within_the_window(pages):
    """A table wider than the text column widens its frame (out of the output's scrolling box) instead of
    scrolling inside the column, and never past the window (1280 px wide here); the smoke book has such tables."""
    bad = {name: {k: v for k, v in r["wide"].items() if k != "widened" and v} for name, r in pages.items()}
    bad = {name: v for name, v in bad.items() if v}
    assert not bad, f"wide tables cramped in the column, past the window or clipped by their output: {bad}"
    assert sum(r["wide"]["widened"] for r in pages.values()) > 0, "no table was widened: is the check still live?"


#: The lowest contrast ratio (WCAG) between a table cell's text and what lies behind it, in the theme's current mode.
CONTRAST_REPORT = r"""
(() => {
  const rgba = c => { const m = c.match(/[\d.]+/g).map(Number); return m.length > 3 ? m : [...m, 1]; };
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const behind = el => { for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor);
                         if (c[3] > 0.5) return c; } return [255, 255, 255, 1]; };
  let worst = {ratio: 99, text: ""};
  for (const cell of [...document.querySelectorAll("table.dreamrg-table td, table.dreamrg-table th")].slice(0, 400)) {
    if (!cell.textContent.trim()) continue;
    const a = lum(rgba(getComputedStyle(cell).color)), b = lum(behind(cell));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < worst.ratio) worst = {ratio, text: cell.textContent.trim().slice(0, 40)};
  }
  return worst;
})()
"""


def test_tables_are_readable_in_both_colour_modes(html_dir, browser):
    """The theme's dark-mode button must not leave a table's text unreadable: every cell of the status page's
    tables keeps a contrast ratio of at least 4.5 (WCAG AA) against its background, in light and in dark mode."""
    browser.load((html_dir / "status.html").resolve().as_uri())
    for mode in ("light", "dark"):
        browser.evaluate(f'document.documentElement.dataset.theme = "{mode}"; 1')
        worst = browser.evaluate(CONTRAST_REPORT)
        assert worst["ratio"] >= 4.5, f"{mode} mode: a table cell {worst['text']!r} has contrast {worst['ratio']:.2f}"


def test_every_figure_has_a_caption(pages):
    missing = _failures(pages, "uncaptioned")
    counts = {name: f"{len(v)} of {pages[name]['outputImages']}" for name, v in missing.items()}
    assert not missing, f"output images without a <figure><figcaption> ({counts}): {missing}"


def test_every_figure_is_numbered(pages):
    assert not _failures(pages, "unnumbered"), f"captions without a figure number: {_failures(pages, 'unnumbered')}"


def test_no_parameter_cell_is_visible(pages):
    injected = _failures(pages, "injected")
    params = _failures(pages, "paramCells")
    text = [name for name, r in pages.items() if r["paramsText"]]
    assert not injected and not params and not text, (
        f"papermill's injected cell: {injected}; the parameters cell: {params}; '# Parameters' text: {text}")


def test_every_chapter_offers_its_notebook_for_download(pages, html_dir):
    import nbformat

    from dreamrg.bookrun import toc_notebooks

    for chapter in toc_notebooks(ROOT):
        links = pages[chapter]["download"]
        assert links, f"{chapter}: no .ipynb download link"
        notebook = html_dir / links[0]
        assert notebook.is_file(), f"{chapter}: {links[0]} is not in the build"
        nbformat.validate(nbformat.read(notebook, as_version=4))


def test_search_finds_pages_offline(html_dir, browser):
    # the Monte Carlo chapter describes the Swendsen-Wang algorithm
    requests, failed = browser.load((html_dir / "search.html").resolve().as_uri() + "?q=Swendsen")
    report = browser.evaluate(SEARCH_REPORT, timeout=60)
    assert report["hits"], f"search for 'Swendsen' found nothing: {report['summary']}; failed loads: {failed}"
    assert not [u for u in requests if not u.startswith(LOCAL_SCHEMES)]
