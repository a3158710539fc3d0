"""Checks of the chapters' prose that a reader would trip over (run by tests/unit/test_notebook_text.py).

- **Cross-references.** Every "§M", "section M" or "chapter N, section M" in a Markdown cell is the text of a
  link to the heading it names, and M is that heading's number. (The site check proves the link resolves.)
- **"What we found" printed by code.** The section exists in chapters 1–6, holds a code cell, and its prose
  states no number (the numbers come from the code cell's output).
- **Glossary heading.** Every glossary heading reads exactly ``Glossary · 术语表``.

    python -m tools.notebook_text [NOTEBOOK ...]    # one line per problem; exit 1 if any
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = "Glossary · 术语表"
# a section number in a heading: "## 3. Title", "## 3 · Title", "## Appendix A. Title" has none
HEADING_NUMBER = re.compile(r"^(\d+)\s*(?:\.|·)\s")
# references in prose: "§3", "section 3", "sections 6–8", "chapter 1, §5", "chapter 3, section 10"
REFERENCE = re.compile(r"(?:[Cc]hapter\s+\d+,?\s+)?(?:§\s?|[Ss]ections?\s+)(\d+)")
LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
# text that is not prose: code spans, math, link targets
NOT_PROSE = re.compile(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", re.S)


def slug(heading):
    """The anchor MyST (and GitHub) give a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def markdown_cells(nb):
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"]


def headings(nb):
    """``{slug: (level, text, number or None)}`` of a notebook's Markdown headings; a sub-heading without a
    number of its own belongs to the numbered section above it (its number)."""
    out = {}
    section = (0, None)   # (level, number) of the last numbered heading
    for _, text in markdown_cells(nb):
        in_fence = False
        for line in text.splitlines():
            if line.lstrip().startswith("```"):
                in_fence = not in_fence
            m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
            if m and not in_fence:
                level, title = len(m.group(1)), m.group(2)
                number = HEADING_NUMBER.match(title)
                if number:
                    section = (level, int(number.group(1)))
                elif level <= section[0]:
                    section = (level, None)
                out[slug(title)] = (level, title, section[1])
    return out


def _target_headings(path, target):
    """The headings of the notebook a link target points into (the same notebook for ``#anchor``)."""
    file, _, anchor = target.partition("#")
    nb_path = Path(path).parent / file if file else Path(path)
    if not nb_path.suffix == ".ipynb" or not nb_path.exists():
        return None, anchor
    return headings(load(nb_path)), anchor


def reference_problems(path):
    """Unlinked section references, and linked ones whose number is not the target heading's."""
    nb = load(path)
    problems = []
    for i, text in markdown_cells(nb):
        # a heading's own title is not a reference
        prose = "\n".join(line for line in NOT_PROSE.sub(" ", text).splitlines()
                           if not line.lstrip().startswith("#"))
        linked = []
        for m in LINK.finditer(prose):
            refs = list(REFERENCE.finditer(m.group(1)))
            linked.append(m.span())
            if not refs:
                continue
            found, anchor = _target_headings(path, m.group(2))
            if found is None:
                continue   # not a notebook (the site check proves it resolves)
            if anchor not in found:
                problems.append(f"{Path(path).name} cell {i}: [{m.group(1)}]({m.group(2)}) names no heading")
                continue
            number = found[anchor][2]
            if int(refs[-1].group(1)) != number:
                problems.append(f"{Path(path).name} cell {i}: [{m.group(1)}] links to "
                                f"{found[anchor][1]!r} (section {number})")
        for m in REFERENCE.finditer(prose):
            if not any(a <= m.start() < b for a, b in linked) and not _citation(prose, m):
                context = prose[max(0, m.start() - 30):m.end() + 10].replace("\n", " ")
                problems.append(f"{Path(path).name} cell {i}: unlinked reference {m.group(0)!r} "
                                f"in '…{context}…'")
    return problems


def _citation(prose, m):
    """A section of a paper ("Devlin et al. (2019, §3.1)"), not of the course."""
    return bool(re.match(r"\.\d", prose[m.end():m.end() + 2])) or bool(
        re.search(r"(?:et al\.|\(\d{4}|\d{4},)\s*[^)]{0,12}$", prose[max(0, m.start() - 25):m.start()]))


def findings_problems(path):
    """"What we found" missing, without a code cell, or with a number typed in its prose."""
    nb = load(path)
    cells = nb["cells"]
    start = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                  and re.search(r"^#+\s.*What we found", "".join(c["source"]), re.M)), None)
    name = Path(path).name
    if start is None:
        return [f"{name}: no 'What we found' section"]
    end = next((i for i in range(start + 1, len(cells)) if cells[i]["cell_type"] == "markdown"
                and re.match(r"#{1,2}\s", "".join(cells[i]["source"]))), len(cells))
    section = cells[start:end]
    problems = []
    if not any(c["cell_type"] == "code" for c in section):
        problems.append(f"{name}: 'What we found' has no code cell (its numbers must be printed by code)")
    for offset, c in enumerate(section):
        if c["cell_type"] != "markdown":
            continue
        text = "".join(c["source"])
        if offset == 0:   # the heading may close a cell of the section before
            text = re.split(r"^#+\s.*What we found.*$", text, maxsplit=1, flags=re.M)[1]
        text = NOT_PROSE.sub(" ", text)
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        text = LINK.sub(lambda m: m.group(1), text)
        text = REFERENCE.sub(" ", text)
        for m in re.finditer(r"\d+(?:[.,]\d+)?\s*%?", text):
            problems.append(f"{name} cell {start + offset}: 'What we found' types the number {m.group(0)!r}")
    return problems


def glossary_problems(path):
    """A glossary heading that does not read exactly "Glossary · 术语表"."""
    found = [t for _, t, _ in headings(load(path)).values() if re.search(r"glossary|术语", t, re.I)]
    return [f"{Path(path).name}: glossary heading {t!r} (expected {GLOSSARY!r})"
            for t in found if t != GLOSSARY]


def problems(path, findings=True):
    out = reference_problems(path) + glossary_problems(path)
    return out + (findings_problems(path) if findings else [])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    paths = [Path(p) for p in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    found = [p for path in paths for p in problems(path, findings=not path.name.startswith("00_"))]
    print("\n".join(found) or f"{len(paths)} notebooks: no problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
