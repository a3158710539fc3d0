"""tools/check_site.py catches what it must, on a deliberately broken small site (and passes a clean
page)."""
import ast
import functools
import importlib.util
import json
import os
import re
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
                    reason="no /usr/bin/chromium (make browser-setup installs it)")
def test_browser_pass_catches_raw_tex_requests_and_mathjax_errors(site, tmp_path):
    problems, times = check.browser_problems(site, shots=tmp_path)
    by_page = {name: [p for p in problems if p.startswith(name + ":")] for name in PAGES}
    assert by_page["good.html"] == []   # typeset math, CJK font, nothing leaves the machine
    bad = " | ".join(by_page["bad.html"])
    assert "request leaves the machine: https://cdn.example.org/mathjax.js" in bad
    assert "raw TeX in the rendered text: ['$\\\\frac{a}{b}$']" in bad
    assert len(by_page["matherr.html"]) == 1 and "MathJax errors" in by_page["matherr.html"][0]
    assert set(times) == set(PAGES)


# --- chapters link every mention of course_utils to its API page (docs/conf.py rewrites the links) ---
conf_spec = importlib.util.spec_from_file_location("site_conf", ROOT / "docs" / "conf.py")
conf = importlib.util.module_from_spec(conf_spec)
conf_spec.loader.exec_module(conf)

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
# a code span, with the Markdown link around it when there is one
SPAN = re.compile(r"(\[)?`([^`\n]+)`(?:(?<=`)\]\(([^)\s]+)\))?")


@functools.lru_cache(maxsize=None)
def _defined(module):
    """Names a course_utils module defines at its top level (functions, classes, assignments)."""
    tree = ast.parse((conf.PACKAGE / f"{module}.py").read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def mention(code):
    """The module a code span names (``course_utils`` for the package itself), or None: ``course_utils``,
    ``course_utils.<module>[.<name>…]``, or ``<module>.<name>`` where the module defines that name (so
    ``config.json`` is not a mention)."""
    m = re.match(r"course_utils(?:\.(\w+))?(?![\w])", code)
    if m:
        return m[1] or "course_utils"
    m = re.match(r"(\w+)\.(\w+)(?![\w])", code)
    if m and m[1] in conf.api_modules() and m[2] in _defined(m[1]):
        return m[1]
    return None


def source_url(module):
    if module == "course_utils":
        return f"{conf.REPO_URL}/tree/main/course_utils"
    return f"{conf.REPO_URL}/blob/main/course_utils/{module}.py"


def link_problems(markdown, where):
    """Mentions of course_utils not linked to their source (which the website turns into the API page's
    entry), and links to a module that does not exist or whose text names another module or a name the
    module does not define."""
    problems = []
    text = FENCE.sub("", markdown)
    for m in SPAN.finditer(text):
        linked, code, url = bool(m[1]) and m[3] is not None, m[2], m[3]
        module = mention(code)
        if url and conf.SOURCE_LINK.match(url):
            file = re.search(r"course_utils/(\w+)\.py", url)
            if file and not (conf.PACKAGE / f"{file[1]}.py").exists():
                problems.append(f"{where}: `{code}` links to a module that does not exist: {url}")
                continue
            try:
                target = conf.source_link_target(url, code)
            except ValueError as e:
                problems.append(f"{where}: `{code}`: {e}")
                continue
            parts = target.split(".")
            if len(parts) > 2 and parts[2] not in _defined(parts[1]):
                problems.append(f"{where}: `{code}`: {parts[1]}.py defines no {parts[2]}")
        elif module is not None and not linked:
            problems.append(f"{where}: `{code}` is not linked: write [`{code}`]({source_url(module)})")
        elif module is not None:
            problems.append(f"{where}: `{code}` links to {url}, not to {source_url(module)}")
    return problems


def test_link_problems_are_found():
    url = source_url("attention")
    ok = (f"the tested copy in [`course_utils.attention`]({url}); [`attention.masked_softmax`]({url}), "
          f"[`course_utils`]({source_url('course_utils')}); `config.json`, `keras.layers.Dense`: not ours")
    assert link_problems(ok, "ok") == []
    assert conf.source_link_target(url, "attention.masked_softmax") == "course_utils.attention.masked_softmax"
    assert conf.source_link_target(url, "the tested copy") == "course_utils.attention"
    bad = ("see `course_utils.convolution.conv2d` and `data.subset`\n```python\n`course_utils.vae`\n```\n"
           f"[`course_utils.nowhere`]({conf.REPO_URL}/blob/main/course_utils/nowhere.py) "
           f"[`vae.VAE`]({url}) [`attention.no_such_function`]({url}) [`data.subset`](../data/README.md)")
    assert link_problems(bad, "bad") == [
        f"bad: `course_utils.convolution.conv2d` is not linked: write [`course_utils.convolution.conv2d`]"
        f"({source_url('convolution')})",
        f"bad: `data.subset` is not linked: write [`data.subset`]({source_url('data')})",
        f"bad: `course_utils.nowhere` links to a module that does not exist: "
        f"{conf.REPO_URL}/blob/main/course_utils/nowhere.py",
        "bad: `vae.VAE`: the link's text names course_utils.vae.VAE "
        "but the link goes to course_utils.attention",
        "bad: `attention.no_such_function`: attention.py defines no no_such_function",
        f"bad: `data.subset` links to ../data/README.md, not to {source_url('data')}",
    ]


def test_chapters_link_course_utils_mentions_to_the_api_pages():
    problems = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "markdown":
                problems += link_problems("".join(cell["source"]), f"{path.name} cell {i}")
    assert problems == []


def test_every_module_has_an_api_page():
    modules = {p.stem for p in conf.PACKAGE.glob("*.py") if p.stem != "__init__"}
    pages = conf.api_pages()
    assert {name.removesuffix(".rst") for name in pages} == modules | {"index"}
    for m in modules:
        assert f".. automodule:: course_utils.{m}\n" in pages[f"{m}.rst"]
