"""Write README.md from nbs/index.ipynb without Quarto.

nbdev-readme needs Quarto, which cannot be installed on CPU CI here. This does the same job for our index:
nbconvert to Markdown, dropping `#| hide` cells and every `#|` directive line, and keeping outputs. Images the
notebook shows from files beside it (`![...](images/x.png)`, relative to `nbs/`) are pointed at the same files from the
repository root (`nbs/images/x.png`), as nbdev-readme does.
Usage: python .ci/make_readme.py [--check]   (--check exits 1 when README.md is stale)
"""
import os, re, sys
from pathlib import Path

import nbformat
from nbconvert import MarkdownExporter
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parent.parent
_DIRECTIVE = re.compile(r"^\s*#\|.*$\n?", re.MULTILINE)
_IMAGE = re.compile(r"(!\[[^\]]*\]\()([^)\s]+)(\))")


def _root_relative(m) -> str:
    "A markdown image whose path is relative to nbs/, re-pointed from the repository root."
    target = m.group(2)
    if re.match(r"^(?:[a-z][a-z0-9+.-]*:|/|#)", target, re.I) or not (ROOT / "nbs" / target).exists(): return m.group(0)
    return m.group(1) + Path(os.path.relpath((ROOT / "nbs" / target).resolve(), ROOT)).as_posix() + m.group(3)


def readme_text() -> str:
    nb = nbformat.read(ROOT / "nbs" / "index.ipynb", as_version=4)
    # run it, as nbdev-readme does, so the README shows real outputs
    ExecutePreprocessor(timeout=600, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(ROOT / "nbs")}})
    cells = []
    for c in nb.cells:
        src = c.source
        if c.cell_type == "code":
            if re.search(r"^\s*#\|\s*(hide|exporti?|default_exp)\b", src, re.MULTILINE): continue
            c.source = _DIRECTIVE.sub("", src).strip("\n")
        cells.append(c)
    nb.cells = cells
    nb.metadata["language_info"] = {"name": "python"}
    body, _ = MarkdownExporter().from_notebook_node(nb)
    body = _IMAGE.sub(_root_relative, re.sub(r"\n{3,}", "\n\n", body).strip()) + "\n"
    return "<!-- Generated from nbs/index.ipynb by .ci/make_readme.py: edit the notebook, not this file. -->\n\n" + body


if __name__ == "__main__":
    text = readme_text()
    out = ROOT / "README.md"
    if "--check" in sys.argv:
        if not out.exists() or out.read_text() != text:
            print("README.md is stale: run python .ci/make_readme.py"); sys.exit(1)
        print("README.md is up to date"); sys.exit(0)
    out.write_text(text)
    print(f"wrote {out}")
