"""Write README.md from nbs/index.ipynb without Quarto.

nbdev-readme needs Quarto, which cannot be installed on CPU CI here. This does the same job for our index: run its
code cells, then nbconvert to Markdown, dropping `#| hide` cells and every `#|` directive line, and keeping outputs.
The cells run in this process with execnb's `CaptureShell` (the executor nbdev-test uses: no Jupyter kernel to start),
so `readme_text()` can also be called from the test suite. Warnings are not shown: the README does not depend on where
it is generated. Images the notebook shows from files beside it (`![...](images/x.png)`, relative to `nbs/`) are
pointed at the same files from the repository root (`nbs/images/x.png`), as nbdev-readme does.
Usage: python .ci/make_readme.py [--check]   (--check exits 1 when README.md is stale)
"""
import json, os, re, sys, warnings
from pathlib import Path

import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parent.parent
_DIRECTIVE = re.compile(r"^\s*#\|.*$\n?", re.MULTILINE)
_IMAGE = re.compile(r"(!\[[^\]]*\]\()([^)\s]+)(\))")


def _root_relative(m) -> str:
    "A markdown image whose path is relative to nbs/, re-pointed from the repository root."
    target = m.group(2)
    if re.match(r"^(?:[a-z][a-z0-9+.-]*:|/|#)", target, re.I) or not (ROOT / "nbs" / target).exists(): return m.group(0)
    return m.group(1) + Path(os.path.relpath((ROOT / "nbs" / target).resolve(), ROOT)).as_posix() + m.group(3)


def executed_index() -> nbformat.NotebookNode:
    "nbs/index.ipynb with fresh outputs: its code cells run in this process, in nbs/, stopping at the first error."
    from fastcore.nbio import read_nb, nb2dict
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    nb = read_nb(ROOT / "nbs" / "index.ipynb")
    shell = CaptureShell(ROOT / "nbs", mpl_format=None)      # no inline matplotlib: the caller's backend stays as it was
    try:
        with working_directory(ROOT / "nbs"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shell.run_all(nb, exc_stop=True, cell_timeout=600)
    finally:
        shell.loop.call_soon_threadsafe(shell.loop.stop)
        CaptureShell.clear_instance()                       # IPython's get_ipython() is None again afterwards
    for c in nb.cells: c.metadata.pop("execution", None)      # execnb's timings; not nbformat's schema
    return nbformat.reads(json.dumps(nb2dict(nb)), as_version=4)


def readme_text() -> str:
    # run it, as nbdev-readme does, so the README shows real outputs
    nb = executed_index()
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


def main(argv: list[str]) -> int:
    "Write README.md, or with `--check` only say whether it is up to date (exit status 1 when stale)."
    text = readme_text()
    out = ROOT / "README.md"
    if "--check" in argv:
        if not out.exists() or out.read_text() != text:
            print("README.md is stale: run python .ci/make_readme.py"); return 1
        print("README.md is up to date"); return 0
    out.write_text(text)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__": sys.exit(main(sys.argv[1:]))
