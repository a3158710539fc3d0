"""Sphinx configuration of the course website (``make site``; see scripts/site.sh).

Source folder: the repository root (README is the front page); this folder holds only this file and the
table of contents. Notebooks are rendered from their committed outputs, never executed. Everything the
pages load is local: MathJax is copied from the ``sphinx-mathjax-offline`` wheel (only the files the
pages use), and the "Open in Colab" badge image is replaced by a local copy after the build.
"""
import re
import shutil
import tomllib
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REPO_URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]

project = "From scratch to fine-tuning"
author = "the course's contributors"
copyright = "the course's contributors"

extensions = ["myst_nb", "sphinx_external_toc", "sphinx.ext.mathjax"]
external_toc_path = "docs/_toc.yml"          # relative to the source folder (the repository root)
external_toc_exclude_missing = True           # only what the table of contents names is read
exclude_patterns = [".venv", "build", ".git", "**/.ipynb_checkpoints", ".pytest_cache"]

# notebooks: the committed outputs, as they are
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3                      # README's [Results](#results) and similar links resolve

# MathJax 3 (SVG output: one file and no web fonts), served from _static/mathjax/
MATHJAX_FILES = ["tex-svg.js"]
mathjax_path = "mathjax/tex-svg.js"
mathjax3_config = {"loader": {"load": []}, "options": {"enableMenu": False},
                   "svg": {"fontCache": "global"}}

html_theme = "sphinx_book_theme"
html_title = "From scratch to fine-tuning"
html_static_path = [str(HERE / "_static")]
html_last_updated_fmt = None
html_context = {"default_mode": "light"}   # else pydata-sphinx-theme logs "invalid theme mode" in the console
html_theme_options = {
    "repository_url": REPO_URL,
    "repository_branch": "main",
    "path_to_docs": "",
    "use_download_button": True,              # per chapter: download the .ipynb
    "use_repository_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},   # per chapter: Open in Colab
    "home_page_in_toc": True,
    "show_toc_level": 2,
}
html_show_sourcelink = False
suppress_warnings = []

BADGE_REMOTE = "https://colab.research.google.com/assets/colab-badge.svg"


def _copy_mathjax(app):
    dist = metadata.distribution("sphinx-mathjax-offline")
    src = Path(dist.locate_file("sphinx-mathjax-offline/static/mathjax"))
    dest = Path(app.outdir) / "_static" / "mathjax"
    for name in MATHJAX_FILES:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / name, dest / name)


NOTEBOOK_HREF = re.compile(r'href="([^":#?]+)\.ipynb((?:#[^"]*)?)"')


def _page_links(page):
    """Links to ``X.ipynb`` in stored notebook outputs (e.g. chapter 0's table) become ``X.html`` when that
    page exists and the ``.ipynb`` does not (MyST resolves such links in Markdown cells, not in outputs)."""
    def fix(m):
        target = page.parent / (m[1] + ".ipynb")
        if not target.exists() and target.with_suffix(".html").exists():
            return f'href="{m[1]}.html{m[2]}"'
        return m[0]
    return fix


def _finish(app, exception):
    """After the build: the badge ``<img>`` of README and title cells points at colab.research.google.com,
    use the local copy; links to chapters' ``.ipynb`` in outputs go to their pages; copy MathJax."""
    if exception is not None:
        return
    out = Path(app.outdir)
    for page in out.rglob("*.html"):
        text = page.read_text()
        new = text
        if BADGE_REMOTE in new:
            rel = "../" * (len(page.relative_to(out).parts) - 1) + "_static/colab-badge.svg"
            new = new.replace(f'src="{BADGE_REMOTE}"', f'src="{rel}"')
        new = NOTEBOOK_HREF.sub(_page_links(page), new)
        if new != text:
            page.write_text(new)
    _copy_mathjax(app)


def setup(app):
    app.connect("build-finished", _finish)
