"""Check the built website in a real browser (headless Chromium), as a reader would see it.

    python tools/check_site.py [build/site] [--shots build/site-shots]

Static pass (every page's HTML): no ``<script>``, ``<link>``, ``<img>`` (or any other loaded resource) points
off the machine; every internal link and ``#anchor`` resolves to a file and an element id.
Browser pass (Debian's /usr/bin/chromium driven by Playwright, the site served on 127.0.0.1): each page loads
with no JavaScript error and no failed request; no request leaves the machine; MathJax finishes with no
error; no raw TeX (``$…$``, ``\\frac``…) is left in the rendered text; Chinese text is drawn with a CJK font;
the full-text search finds an English and a Chinese word.
A screenshot of each chapter's first screen (and of its glossary table) goes to ``--shots``.
Exit 1 with one line per problem.
"""
import argparse
import functools
import html.parser
import http.server
import re
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

CHROMIUM = "/usr/bin/chromium"
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads"}
# resources a page loads (an <a href> is only a link, a reader's choice)
LOADING = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"), ("source", "src"),
           ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data"), ("image", "href")}
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)
# raw TeX a reader would see if MathJax did not run: $…$ / $$…$$ spans, \( \) \[ \], any \command
RAW_TEX = re.compile(r"\$\$|\$[^$\s][^$\n]{0,300}?\$|\\[()\[\]]|\\[A-Za-z]{2,}|\\[_^{}]")
HIDE_STICKY = ".bd-header-article, .skip-link {display: none !important}"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
CJK_FONT = re.compile(r"CJK|Han|Hei|Song|Ming|WenQuanYi|Fallback|SC\b|TC\b|JP\b|KR\b", re.I)


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.loads, self.inline = set(), [], [], []
        self.redirect = None
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href") is not None:
            self.links.append(a["href"])
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":   # a redirect (index.html)
            self.redirect = re.sub(r"^\s*\d+\s*;\s*url=", "", a.get("content", ""), flags=re.I)
            self.links.append(self.redirect)
        for t, attr in LOADING:
            if tag == t and a.get(attr):
                self.loads.append((tag, a[attr]))
        if tag == "link" and a.get("imagesrcset"):
            self.loads.append((tag, a["imagesrcset"]))
        if tag in ("script", "style"):
            self._in = tag
        if a.get("style"):
            self.inline.append(a["style"])

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "style":
            self.inline.append(data)


def pages(site):
    return sorted(p for p in Path(site).rglob("*.html")
                  if not SKIP_DIRS & set(p.relative_to(site).parts[:-1]))


@functools.lru_cache(maxsize=None)
def _parse(path):
    parser = _Page()
    parser.feed(Path(path).read_text(errors="replace"))
    return parser


def static_problems(site):
    """External resources and broken internal links/anchors, from the HTML files alone."""
    site = Path(site).resolve()
    problems = []
    for page in pages(site):
        rel = page.relative_to(site)
        doc = _parse(page)
        for tag, url in doc.loads:
            if EXTERNAL.match(url.strip()):
                problems.append(f"{rel}: <{tag}> loads an external resource: {url}")
        for css in doc.inline:
            for url in re.findall(r"url\(\s*['\"]?((?:[a-z]+:)?//[^'\")]+)", css, re.I):
                problems.append(f"{rel}: CSS loads an external resource: {url}")
        for href in doc.links:
            href = href.strip()
            if not href or EXTERNAL.match(href) or re.match(r"^(mailto|javascript|data|tel):", href, re.I):
                continue
            path, frag = urldefrag(href)
            target = page if not path else (page.parent / unquote(urlsplit(path).path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{rel}: broken link {href}")
            elif frag and target.suffix == ".html" and unquote(frag) not in _parse(target).ids:
                problems.append(f"{rel}: broken anchor {href}")
    return problems


def raw_tex(text):
    """The raw-TeX fragments in a page's rendered text (code blocks and typeset math already removed)."""
    return sorted({m.group(0)[:60] for m in RAW_TEX.finditer(text)})


# rendered prose: the article without code, notebook outputs, typeset math, scripts and styles
_TEXT_JS = """() => {
  const root = (document.querySelector('main') || document.body).cloneNode(true);
  root.querySelectorAll('pre, code, .highlight, .cell_output, mjx-container, script, style, .MathJax, '
      + '.math, .headerlink').forEach(e => e.remove());
  return root.innerText;
}"""
_MATHJAX_JS = """async () => {
  const wanted = document.querySelectorAll('.math').length;   // what Sphinx marked as math
  if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) return {wanted: wanted, n: 0};
  await MathJax.startup.promise;
  const n = document.querySelectorAll('mjx-container').length;
  const errs = [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
      .map(e => e.getAttribute('data-mjx-error') || e.textContent).slice(0, 5);
  return {wanted: wanted, n: n, errors: errs};
}"""
_CJK_JS = """() => {
  const re = /[\\u3400-\\u9fff]/;
  const walker = document.createTreeWalker(document.querySelector('main') || document.body,
                                           NodeFilter.SHOW_TEXT);
  let i = 0; const out = [];
  while (walker.nextNode() && out.length < 3) {
    const el = walker.currentNode.parentElement;
    if (re.test(walker.currentNode.nodeValue) && el && el.offsetParent !== null && !el.dataset.cjkCheck) {
      el.dataset.cjkCheck = String(i++); out.push(el.dataset.cjkCheck);
    }
  }
  return out;
}"""


def _serve(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _cjk_fonts(page, cdp):
    """For up to 3 visible elements with Chinese text: the fonts Chromium drew them with."""
    marks = page.evaluate(_CJK_JS)
    if not marks:
        return None
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    used = []
    for mark in marks:
        query = {"nodeId": root, "selector": f'[data-cjk-check="{mark}"]'}
        node = cdp.send("DOM.querySelector", query)["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        used.append({f["familyName"]: f["glyphCount"] for f in fonts})
    return used


def _router(base, found):
    """Let requests to the local server through; record and abort every other one."""
    def route(r):
        url = r.request.url
        if url.startswith(base) or url.startswith(("data:", "blob:", "about:")):
            return r.continue_()
        found.append(f"request leaves the machine: {url}")
        return r.abort()
    return route


def launch(pw, chromium=CHROMIUM):
    """Debian's Chromium, headless, driven by Playwright (its own browser download is not used). Also used by
    tests/integration/test_jupyterlab.py."""
    return pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])


def browser_problems(site, shots=None, chromium=CHROMIUM, timeout_ms=30_000, search_words=()):
    """Open every page in headless Chromium; return (problems, seconds per page). On ``search.html``, each of
    ``search_words`` must find at least one page."""
    from playwright.sync_api import sync_playwright

    site = Path(site).resolve()
    server = _serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    problems, times = [], {}
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = launch(pw, chromium)
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            # one tab for all pages (a new tab per page costs about as much as the page itself); the
            # listeners write into the current page's list
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            found = []
            page.route("**/*", _router(base, found))
            page.on("pageerror", lambda e: found.append(f"JavaScript error: {e}"))
            page.on("console", lambda m: m.type == "error" and found.append(f"console error: {m.text[:200]}"))
            page.on("response", lambda r: r.status >= 400 and found.append(
                f"HTTP {r.status}: {r.url[len(base):] if r.url.startswith(base) else r.url}"))
            # ERR_ABORTED: a request still open when the check moves on (search summaries); a missing file
            # shows as an HTTP 404 above
            page.on("requestfailed", lambda r: r.url.startswith(base) and r.failure != "net::ERR_ABORTED"
                    and found.append(f"request failed: {r.url[len(base):]} ({r.failure})"))
            for path in pages(site):
                rel = path.relative_to(site).as_posix()
                if _parse(path).redirect is not None:   # checked by the static pass (its target exists)
                    continue
                t0 = time.time()
                found.clear()
                response = page.goto(base + rel, wait_until="load", timeout=timeout_ms)
                if response is None or not response.ok:
                    found.append(f"page did not load ({response.status if response else 'no response'})")
                mj = page.evaluate(_MATHJAX_JS)
                if mj["wanted"] and not mj["n"]:
                    found.append(f"MathJax typeset nothing ({mj['wanted']} math elements)")
                if mj.get("errors"):
                    found.append(f"MathJax errors: {mj['errors']}")
                tex = raw_tex(page.evaluate(_TEXT_JS))
                if tex:
                    found.append(f"raw TeX in the rendered text: {tex[:5]}")
                fonts = _cjk_fonts(page, cdp)
                if fonts is not None:
                    for used in fonts:
                        if not any(CJK_FONT.search(name) and n > 0 for name, n in used.items()):
                            found.append(f"Chinese text drawn without a CJK font (fonts used: {used}); "
                                         "install fonts-noto-cjk")
                            break
                if shots and rel.startswith("notebooks/"):
                    page.screenshot(path=str(Path(shots) / (Path(rel).stem + ".png")))
                    glossary = page.locator("table").filter(has_text=CJK).last   # English / 中文 glossary
                    if glossary.count():   # (the sticky article header and skip link would cover part of it)
                        page.add_style_tag(content=HIDE_STICKY)
                        glossary.screenshot(path=str(Path(shots) / (Path(rel).stem + "-glossary.png")))
                if rel == "search.html":
                    for word in search_words:
                        page.goto(f"{base}search.html?q={word}", wait_until="load", timeout=timeout_ms)
                        try:
                            page.wait_for_selector("#search-results ul.search li", timeout=10_000)
                        except Exception:
                            found.append(f"full-text search finds nothing for {word!r}")
                times[rel] = time.time() - t0
                problems += [f"{rel}: {p}" for p in dict.fromkeys(found)]
            browser.close()
    finally:
        server.shutdown()
    return problems, times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("site", nargs="?", default="build/site")
    ap.add_argument("--shots", default="build/site-shots", help="folder for the chapters' screenshots")
    ap.add_argument("--chromium", default=CHROMIUM)
    ap.add_argument("--search", action="append", default=None,
                    help="a word the full-text search must find (repeatable; default: backpropagation, 梯度)")
    a = ap.parse_args(argv)
    if not Path(a.site, "index.html").exists() and not pages(a.site):
        print(f"no HTML pages in {a.site}: run make site first", file=sys.stderr)
        return 2
    t0 = time.time()
    problems = static_problems(a.site)
    t1 = time.time()
    words = a.search if a.search is not None else ["backpropagation", "梯度"]
    more, times = browser_problems(a.site, a.shots, a.chromium, search_words=words)
    problems += more
    print(f"site check: {len(pages(a.site))} pages; static pass {t1 - t0:.1f} s, browser pass "
          f"{time.time() - t1:.1f} s (slowest page {max(times.values(), default=0):.1f} s); "
          f"screenshots in {a.shots}")
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
