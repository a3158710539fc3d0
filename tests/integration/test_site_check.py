"""tools/check_site.py catches what it must, on a deliberately broken small site (and passes a clean
page)."""
import importlib.util
import os
import shutil
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_site", ROOT / "tools" / "check_site.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)

HEAD = '<html><head><meta charset="utf-8"><script src="mathjax/tex-svg.js" defer></script></head><body><main>'
PAGES = {
    # clean: typeset math, a good anchor, Chinese text, an external *link* (a link is not a request)
    "good.html": HEAD + '<h1 id="top">Good</h1><p>Loss '
                 '<span class="math">\\(L = \\frac{1}{n}\\sum_i \\ell_i\\)</span>'
                 ' 梯度下降 (gradient descent). <a href="bad.html#sec">bad</a> <a href="#top">top</a> '
                 '<a href="https://example.org/">elsewhere</a></p>'
                 '<pre>price = "$5 and $6"  # \\frac in code</pre></main></body></html>',
    # broken: raw TeX left in the text, an external script, a broken link and a broken anchor
    "bad.html": '<html><head><script src="https://cdn.example.org/mathjax.js"></script></head><body><main>'
                '<h2 id="sec">Bad</h2><p>The loss $\\frac{a}{b}$ is raw.</p>'
                '<a href="missing.html">gone</a> <a href="good.html#nowhere">no anchor</a>'
                '</main></body></html>',
    # MathJax runs, but the TeX has an error
    "matherr.html": HEAD + '<p><span class="math">\\(x^\\)</span></p></main></body></html>',
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    for name, text in PAGES.items():
        (site / name).write_text(text)
    dist = metadata.distribution("sphinx-mathjax-offline")
    mathjax = Path(dist.locate_file("sphinx-mathjax-offline/static/mathjax"))
    (site / "mathjax").mkdir()
    shutil.copy2(mathjax / "tex-svg.js", site / "mathjax" / "tex-svg.js")
    return site


def test_raw_tex_patterns():
    assert check.raw_tex("the loss $\\frac{a}{b}$ here") == ["$\\frac{a}{b}$"]
    assert check.raw_tex("see \\(x\\) and $$y$$") == ["$$", "\\(", "\\)"]
    assert check.raw_tex("a \\lVert g \\rVert b") == ["\\lVert", "\\rVert"]
    assert check.raw_tex("costs 5 dollars, 100 % sure; C:/path; a_b^c") == []


def test_static_pass_catches_external_script_and_broken_links(site):
    problems = check.static_problems(site)
    assert problems == ["bad.html: <script> loads an external resource: https://cdn.example.org/mathjax.js",
                        "bad.html: broken link missing.html",
                        "bad.html: broken anchor good.html#nowhere"]


@pytest.mark.skipif(not os.path.exists(check.CHROMIUM) and os.environ.get("CI") != "true",
                    reason="no /usr/bin/chromium (make site-setup installs it)")
def test_browser_pass_catches_raw_tex_requests_and_mathjax_errors(site, tmp_path):
    problems, times = check.browser_problems(site, shots=tmp_path)
    by_page = {name: [p for p in problems if p.startswith(name + ":")] for name in PAGES}
    assert by_page["good.html"] == []   # typeset math, CJK font, nothing leaves the machine
    bad = " | ".join(by_page["bad.html"])
    assert "request leaves the machine: https://cdn.example.org/mathjax.js" in bad
    assert "raw TeX in the rendered text: ['$\\\\frac{a}{b}$']" in bad
    assert len(by_page["matherr.html"]) == 1 and "MathJax errors" in by_page["matherr.html"][0]
    assert set(times) == set(PAGES)
