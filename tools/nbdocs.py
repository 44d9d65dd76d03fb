#!/usr/bin/env python
"""Build the docs site from the notebooks: the docs command.

    python tools/nbdocs.py                    # site in _docs/ (`doc_path` in pyproject.toml)
    python tools/nbdocs.py --out /tmp/site    # elsewhere; --renderer quarto|mkdocs to choose
    python tools/nbdocs.py --check            # nbdev's processing only (what `nbdev-proc-nbs` runs), no execution
    python -m http.server -d _docs            # browse it; search needs HTTP, pages also open from file://

Pages: `nbs/index.ipynb` (the README) as the home page, every `nbs/*.ipynb` module notebook with its API
entries, every `tutorials/*.ipynb`. The build works on a staged copy of the project and
1. executes each notebook in a Jupyter kernel (working directory: the notebook's own folder), leaving out
   the cells nbdev-test leaves out (`#| slow`, `#| gpu`, `#| notest`, `#| eval: false`); the page says so.
   Tutorials run their short CPU path (`RLKD_SMALL=1`, as in CI) unless the environment sets `RLKD_SMALL`;
   their data files and `benchmarks/results/` are staged with them;
2. runs nbdev's own processing (`show_doc` entries with signatures and docments, hidden and exported cells,
   backticked names linked): the processor `nbdev-proc-nbs` runs, called once per notebook;
3. renders with Quarto when `quarto` is on PATH (nbdev's normal path, e.g. for GitHub Pages), otherwise
   offline with mkdocs-material + mkdocs-jupyter (`pip install -e ".[docs]"`);
4. serves the widgets' JavaScript from the site: @jupyter-widgets/html-manager and require.js are taken
   from the npm registry with `npm pack` (once; cached) instead of being loaded from a CDN.
Exit status 1 when a notebook fails to execute or to process (each failure names the notebook and the
cell); the pages that did build are still rendered. Exit status 2 for a set-up problem (no renderer, no npm).
"""
import argparse, html, json, os, re, resource, shutil, subprocess, sys, tarfile, tempfile, time, tomllib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The widgets' JavaScript, served from the site. html-manager 1.x renders ipywidgets 8 state (protocol 2).
NPM_PKGS = {"html-manager": ("@jupyter-widgets/html-manager", "1.0.15"), "requirejs": ("requirejs", "2.3.8")}
SKIP_TAG = "skip-execution"       # nbclient's own tag for the cells it must not run
NOTE_CLS = "nbdocs-skipped"       # CSS class of the "not run" notes (tests look for these class names)
FAIL_CLS = "nbdocs-failed"        # CSS class of a page standing in for a notebook that failed processing
MARKER = ".nbdocs-site"           # written into every site we build; we never delete a folder without it
HIDDEN = {"hide", "export", "exporti", "default_exp"}
CACHE = Path(os.environ.get("RLKD_NB_CACHE") or Path.home() / ".cache" / "rlkd_nb") / "nbdocs"   # npm packages, between builds


class DocsError(Exception): "A set-up problem (renderer, npm, output folder), not a notebook's."


@dataclass
class Page:
    src: Path      # the notebook in the working tree
    rel: Path      # its path under the staged notebooks folder (tutorials go to `tutorials/`)
    html: str      # its page in the site, nbdev's naming: `00_core.ipynb` -> `core.html`
    name: str      # how reports name it: `nbs/00_core.ipynb`


def find_pages(root: Path, nbs: Path, tutorials: Path) -> list[Page]:
    "The notebooks that become pages: `nbs/*.ipynb`, then `tutorials/*.ipynb`; `_*` and `.*` skipped, as nbdev does."
    from nbdev.config import nbpath2html
    pages, seen = [], {}
    for folder, sub in ((nbs, Path()), (tutorials, Path("tutorials"))):
        for f in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
            if f.name[0] in "_.": continue
            p = Page(f, sub / f.name, nbpath2html(sub / f.name).as_posix(), os.path.relpath(f, root))
            if p.html in seen: raise DocsError(f"{p.name} and {seen[p.html]} would both become {p.html}: rename one")
            seen[p.html] = p.name
            pages.append(p)
    return pages


# ---------------------------------------------------------------- staging
def stage_project(root: Path, stage: Path, cfg, pages: list[Page]) -> Path:
    "Copy what the build needs into `stage` (so nothing is written into the working tree); returns the staged notebooks folder."
    shutil.copy2(root / "pyproject.toml", stage / "pyproject.toml")
    ign = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    lib = cfg.lib_path.relative_to(cfg.config_path)
    shutil.copytree(cfg.lib_path, stage / lib, ignore=ign, dirs_exist_ok=True)
    nbs = stage / cfg.nbs_path.relative_to(cfg.config_path)
    # the notebooks folder's other files (images, styles.css, _quarto.yml) travel with the pages
    skip = shutil.ignore_patterns("*.ipynb", "_proc", "_docs", ".*", "__pycache__", "tutorials")
    def ignore(d, names):   # also sockets, fifos and other non-files a run may leave behind
        return set(skip(d, names)) | {n for n in names if not (Path(d, n).is_file() or Path(d, n).is_dir())}
    shutil.copytree(cfg.nbs_path, nbs, dirs_exist_ok=True, ignore=ignore)
    for p in pages:
        (nbs / p.rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p.src, nbs / p.rel)
    # what the tutorials read: their own data files (`tutorials/data/`), and the measured results they quote
    if (root / "tutorials").is_dir(): shutil.copytree(root / "tutorials", nbs / "tutorials", dirs_exist_ok=True, ignore=ignore)
    if (root / "benchmarks" / "results").is_dir():
        shutil.copytree(root / "benchmarks" / "results", stage / "benchmarks" / "results", dirs_exist_ok=True, ignore=ignore)
    # nbdev links backticked names through the `nbdev` entry points of installed distributions; this dist-info on
    # the workers' sys.path supplies the project's own (`<lib>._modidx`, imported from the stage) without installing it
    eps = tomllib.loads((root / "pyproject.toml").read_text()).get("project", {}).get("entry-points", {}).get("nbdev", {})
    di = stage / f"{lib.name}_nbdocs-0.dist-info"
    di.mkdir(exist_ok=True)
    (di / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {lib.name}-nbdocs\nVersion: 0\n")
    (di / "entry_points.txt").write_text("[nbdev]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()))
    return nbs


# ---------------------------------------------------------------- execution
def skip_reasons(path: Path, flags: set[str]) -> dict[int, tuple[str, bool]]:
    "Cells nbdev-test would not run, as {index: (why, shown on the page)}; same rules as `nbdev.test`."
    from fastcore.basics import str2bool
    from fastcore.nbio import does_cell_eval, fm_default_eval, nb_frontmatter
    from nbdev.process import NBProcessor
    nb = NBProcessor(path, rm_directives=False, process=True).nb
    fm, out = nb_frontmatter(nb), {}
    dflt = fm_default_eval(fm)
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code": continue
        d = c.directives_ or {}
        shown = not (d.keys() & HIDDEN) and "false" not in d.get("include", [])
        if str2bool(fm.get("skip_exec", False)): out[i] = ("skip_exec: true", shown)
        elif hit := sorted(flags & d.keys()): out[i] = (" ".join(hit), shown)
        elif not does_cell_eval(c, dflt): out[i] = ("eval: false", shown)
    return out


def _note(why: str):
    from nbformat.v4 import new_markdown_cell
    msg = (f'<div class="{NOTE_CLS}">Not run for this page (<code>#| {html.escape(why)}</code>): the docs build leaves out '
           "the cells nbdev-test leaves out on a CPU; run the notebook to see this output.</div>")
    return new_markdown_cell(msg, metadata={"nbdocs": {"note": why}})


def execute_nb(path: Path, cwd: Path, flags: set[str], timeout: int, kernel: str) -> dict:
    "Run `path` in place (cells flagged like nbdev-test's skips are left out and get a note); returns errors found."
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    skips = skip_reasons(path, flags)
    nb = nbformat.read(path, as_version=4)
    for i, c in enumerate(nb.cells):
        c.metadata["nbdocs"] = {"cell": i}
        if i in skips: c.metadata.setdefault("tags", []).append(SKIP_TAG)
    at = {"cell": None}
    def _start(cell, cell_index, **kw): at["cell"] = cell.metadata["nbdocs"]["cell"]
    from traitlets.config import Config
    conf = Config()   # unix sockets, at absolute paths (the kernel runs in the notebook's folder, this worker in the stage)
    conf.KernelManager.transport, conf.KernelManager.ip = "ipc", str(Path(tempfile.mkdtemp(prefix="k-", dir=Path.cwd())) / "k")
    client = NotebookClient(nb, config=conf, timeout=timeout, kernel_name=kernel, allow_errors=True, store_widget_state=True,
                            skip_cells_with_tag=SKIP_TAG, resources={"metadata": {"path": str(cwd)}}, on_cell_start=_start)
    errors, t0 = [], time.time()
    try: client.execute()
    except CellTimeoutError: errors.append(f"cell {at['cell']}: no result after {timeout} s (--timeout); later cells not run")
    except DeadKernelError as e: errors.append(f"cell {at['cell']}: the kernel died ({e}); later cells not run")
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            if o.output_type == "error": errors.append(f"cell {i}: {o.ename}: {o.evalue}".strip())
    for i in sorted((i for i, (_, shown) in skips.items() if shown), reverse=True):
        nb.cells.insert(i, _note(skips[i][0]))
    nbformat.write(nb, path)
    return {"errors": errors, "skipped": len(skips), "exec_s": round(time.time() - t0, 1)}


def number_cells(path: Path):
    "Record each cell's index in the working-tree notebook, so failures can be reported against it."
    nb = json.loads(path.read_text())
    for i, c in enumerate(nb["cells"]): c.setdefault("metadata", {})["nbdocs"] = {"cell": i}
    path.write_text(json.dumps(nb, indent=1))


# ---------------------------------------------------------------- nbdev's processing
def _strip_directives(src: str) -> str:
    return "\n".join(l for l in src.splitlines() if not re.match(r"\s*#\|", l)).strip()


def cell_named(src: str, path: Path) -> str:
    "`cell N ('first line')` for the code cell of `path` whose code is `src`; N counts cells of the working-tree notebook."
    cells = json.loads(path.read_text())["cells"]
    hit = next((c for c in cells if c["cell_type"] == "code" and _strip_directives("".join(c["source"])) == _strip_directives(src)), None)
    idx = hit.get("metadata", {}).get("nbdocs", {}).get("cell") if hit else None
    first = (_strip_directives(src).splitlines() or [""])[0]
    return f"{'a cell' if idx is None else f'cell {idx}'} ({first[:60]!r})"


def describe_proc_error(e: Exception, path: Path) -> str:
    "nbdev's processing error as `cell N ('first line'): Error: message`."
    m = re.search(r" in cell \d+ :\n(.*)\n([\w.]+): (.*)\Z", str(e), re.S)
    if not m: return f"{type(e).__name__}: {e}".strip()
    src, ename, msg = m.groups()
    out = f"{cell_named(src, path)}: {ename}: {msg}"
    if re.search(r"^\s*(import|from)\s", src, re.M):
        out += (" -- nbdev's processing runs only the import/export/show_doc cells, and this cell mixes an import with "
                "code that needs earlier cells: put the import in a cell of its own")
    return out


def process_nb(src: Path, dst: Path) -> tuple[str | None, list[str]]:
    """Run nbdev's docs processor (`FilterDefaults`, as `nbdev-proc-nbs`) from `src` to `dst`: the error if any, and
    the cells nbdev warns about (an import mixed with other code: processing runs them, and fails if they need earlier cells)."""
    import warnings
    import nbdev.serve_drv
    from nbdev.processors import FilterDefaults
    dst.parent.mkdir(parents=True, exist_ok=True)
    err = None
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        try: nbdev.serve_drv.main((src, dst, FilterDefaults))
        except Exception as e: err = describe_proc_error(e, src)
        finally: os.environ.pop("IN_TEST", None)   # nbdev sets it while processing; kernels started later must not inherit it
    mixed = [cell_named(m.group(1), src) for w in ws if (m := re.search(r"imports and other code.*?\n---\n(.*)\n---", str(w.message), re.S))]
    return err, [m for m in dict.fromkeys(mixed) if not (err and err.startswith(m))]


def _init_worker(stage: str):
    os.chdir(stage)                 # nbdev reads its config from the working directory
    sys.path[:0] = [stage]


def build_nb(job: dict) -> dict:
    "One notebook: execute (unless --check), then nbdev's processing. Runs in a worker whose cwd is the stage."
    src, cwd, out = Path(job["staged"]), Path(job["cwd"]), Path(job["proc"])
    res = {"page": job["name"], "errors": [], "skipped": 0, "exec_s": 0.0}
    if job["execute"]:
        try: res.update(execute_nb(src, cwd, set(job["flags"]), job["timeout"], job["kernel"]))
        except Exception as e:
            res["errors"].append(f"execution failed: {type(e).__name__}: {e}")
            number_cells(src)
    else: number_cells(src)
    t0 = time.time()
    res["proc_error"], res["mixed"] = process_nb(src, out)
    res["proc_s"] = round(time.time() - t0, 1)
    return res


# ---------------------------------------------------------------- links
class Linker:
    """A page's links, fixed for the site: nbdev's absolute doc links and links to notebooks become relative links to
    their pages, links to the notebooks folders' other files stay in the site, other files of the repository go to GitHub."""
    def __init__(self, root: Path, cfg, pages: list[Page], tutorials: Path):
        self.root, self.pages = root.resolve(), {p.src.resolve(): p for p in pages}
        self.base = (cfg.get("doc_host", "") + cfg.get("doc_baseurl", "")).rstrip("/") + "/"
        self.blob = f"{cfg.git_url.rstrip('/')}/blob/{cfg.get('branch', 'main')}/" if cfg.get("git_url") else ""
        self.folders = ((cfg.nbs_path.resolve(), ""), (tutorials.resolve(), "tutorials/"))

    def __call__(self, url: str, page: Page) -> str:
        from urllib.parse import unquote
        path, hash_, frag = url.partition("#")
        frag = hash_ + frag
        if url.startswith(self.base) and self.base != "/": target = path[len(self.base):]
        elif not path or re.match(r"[a-zA-Z][\w+.-]*:|/", path): return url
        else:
            f = (page.src.parent / unquote(path)).resolve()
            if f in self.pages: target = self.pages[f].html
            elif d := next(((d, pre) for d, pre in self.folders if f.is_relative_to(d)), None): target = d[1] + f.relative_to(d[0]).as_posix()
            elif f.is_relative_to(self.root) and f.exists() and self.blob: return self.blob + f.relative_to(self.root).as_posix() + frag
            else: return url
        return os.path.relpath(target, os.path.dirname(page.html) or ".").replace(os.sep, "/") + frag

    def markdown(self, md: str, page: Page) -> str:
        md = re.sub(r"(\]\(\s*<?)([^)\s>]+)", lambda m: m.group(1) + self(m.group(2), page), md)
        return re.sub(r"""(\b(?:href|src)=["'])([^"']+)""", lambda m: m.group(1) + self(m.group(2), page), md)


def fix_links(nb: dict, page: Page, linker: Linker) -> dict:
    "Apply `linker` to the markdown cells and markdown outputs of a processed notebook."
    for c in nb["cells"]:
        if c["cell_type"] == "markdown": c["source"] = linker.markdown("".join(c["source"]), page)
        for o in c.get("outputs", []):
            if "text/markdown" in o.get("data", {}):
                o["data"]["text/markdown"] = linker.markdown("".join(o["data"]["text/markdown"]), page)
    return nb


def drop_unused_widget_state(nb: dict) -> dict:
    "nbdev stores the (often empty) widget state of every notebook; keep it only where an output shows a widget."
    views = any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
    if not views: nb.get("metadata", {}).pop("widgets", None)
    return nb


def failed_page(page: Page, why: str) -> dict:
    "The notebook that stands in for a page whose notebook failed nbdev's processing (so links to it still resolve)."
    fm = {"cell_type": "raw", "id": "nbdocs-fm", "metadata": {}, "source": f"---\ntitle: {json.dumps(page.name)}\noutput-file: {Path(page.html).name}\n---\n"}
    md = (f'<div class="{FAIL_CLS}"><p><b>This page could not be built</b>: nbdev\'s processing of <code>{html.escape(page.name)}'
          f"</code> failed at {html.escape(why)}</p></div>")
    return {"cells": [fm, {"cell_type": "markdown", "id": "nbdocs-failed", "metadata": {}, "source": md}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


# ---------------------------------------------------------------- offline renderer: mkdocs-material + mkdocs-jupyter
def _directives(src: str) -> tuple[dict, str]:
    "Quarto's `#| key: value` lines that nbdev leaves in a processed cell, and the code without them."
    d, body = {}, []
    for l in src.splitlines():
        m = re.match(r"\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$", l)
        if m: d[m.group(1)] = m.group(2).strip("\"'")
        else: body.append(l)
    return d, "\n".join(body).strip("\n")


def anchor(text: str) -> str:
    "Pandoc's identifier for a heading (what Quarto uses, so nbdev's `page.html#name` links land on the entry)."
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).replace("`", "")
    text = re.sub(r"[^\w\s.-]", "", text.lower())
    return re.sub(r"^[^a-z]+", "", re.sub(r"\s+", "-", text.strip()))


def _doc_headings(md: str) -> str:
    def h(m):
        n, text = len(m.group(1)), m.group(2)
        return f'<h{n} class="nbdocs-entry" id="{anchor(text)}">{html.escape(re.sub(r"`", "", text))}</h{n}>\n'
    # nbdev's `[source](url){target="_blank" style="float:right; font-size:smaller"}`: pandoc attributes, Quarto's syntax
    md = re.sub(r"\[source\]\(([^)\s]*)\)\{[^}]*\}", r'<a class="nbdocs-source" href="\1">source</a>', md)
    return re.sub(r"^(#{1,6})[ \t]+(.+?)[ \t]*$", h, md, flags=re.M)


def _headings_keep_code(md: str) -> str:
    """`code` in headings as <code>: mkdocs-jupyter builds the table of contents after deleting backticked spans, so a
    heading like "Command line: `rlkd extract`" got a contents link that matches no heading id (and "`load_model`" none)."""
    out, fence = [], False
    for l in md.split("\n"):
        if re.match(r"\s*(```|~~~)", l): fence = not fence
        if not fence and re.match(r"#{1,6}\s", l): l = re.sub(r"`([^`]+)`", lambda m: f"<code>{html.escape(m.group(1))}</code>", l)
        out.append(l)
    return "\n".join(out)


def for_mkdocs(nb: dict) -> tuple[dict, str]:
    "A processed notebook as mkdocs-jupyter should see it, and the page title: Quarto's share of the work done here."
    cells, title = [], None
    for c in nb["cells"]:
        src = "".join(c.get("source", ""))
        if c["cell_type"] == "raw" and (m := re.match(r"\s*---\n(.*?)\n---", src, re.S)):   # nbdev's frontmatter
            import yaml
            fm = yaml.safe_load(m.group(1)) or {}
            title = str(fm.get("title") or "")
            md = f"# {title}" + (f"\n\n> {fm['description']}" if fm.get("description") else "")
            cells.append({"cell_type": "markdown", "metadata": {}, "source": md})
            continue
        if c["cell_type"] == "markdown" and src.startswith("<!-- WARNING: THIS FILE WAS AUTOGENERATED"): continue
        if c["cell_type"] == "markdown": c["source"] = _headings_keep_code(src)
        c.get("metadata", {}).pop("execution", None)    # nbdev's timings: floats where nbformat's schema wants strings
        if c["cell_type"] == "code":
            d, c["source"] = _directives(src)
            if d.get("include") == "false": continue
            if d.get("output") == "false": c["outputs"] = []
            if d.get("echo") == "false": c.setdefault("metadata", {}).setdefault("tags", []).append("nbdocs-hide-input")
            for o in c.get("outputs", []):
                if "text/markdown" in o.get("data", {}) and "show_doc(" in src:
                    o["data"]["text/markdown"] = _doc_headings("".join(o["data"]["text/markdown"]))
            if not c["source"] and not c.get("outputs"): continue
        cells.append(c)
    nb["cells"] = cells
    return nb, title


CSS = """.NOTE_CLS, .FAIL_CLS { border-left: 4px solid #9a6700; background: #fff8c5; padding: .4em .8em; margin: .6em 0;
  font-size: .8rem; border-radius: 2px; }
.FAIL_CLS { border-left-color: #cf222e; background: #ffebe9; }
.nbdocs-entry { margin-top: 1.2em; }
.nbdocs-source { float: right; font-size: smaller; }
.md-grid { max-width: 1440px; }
/* HTML that notebooks display (e.g. the structure viewer's <details> trees) keeps its own look: the theme styles
   every <details>/<summary> as an admonition. These resets outrank the theme's rules (same or higher specificity,
   loaded later) and stay below the outputs' own class-scoped rules, which therefore still apply. */
.jp-OutputArea-output details { display: block; margin: 0; padding: 0; font-size: inherit; color: inherit;
  background: none; border: 0; border-radius: 0; box-shadow: none; overflow: visible; }
[dir] .jp-OutputArea-output summary { display: list-item; margin: 0; padding: 0; min-height: 0; border: 0; border-radius: 0;
  background: none; font-weight: inherit; position: static; }
[dir] .jp-OutputArea-output summary::before, [dir] .jp-OutputArea-output summary::after { content: none; position: static;
  width: auto; height: auto; background: none; -webkit-mask-image: none; mask-image: none; transform: none; }
html .jp-OutputArea-output details > :last-child { margin-bottom: 0; }
""".replace("NOTE_CLS", NOTE_CLS).replace("FAIL_CLS", FAIL_CLS)


def render_mkdocs(stage: Path, nbs: Path, pages: list[Page], cfg, site: Path) -> list[str]:
    "Render the processed notebooks with mkdocs-material + mkdocs-jupyter into `site`; returns mkdocs' warnings."
    import importlib.util
    import yaml
    missing = [m for m in ("mkdocs", "material", "mkdocs_jupyter") if importlib.util.find_spec(m) is None]
    if missing: raise DocsError(f"the offline renderer is not installed (missing {', '.join(missing)}): pip install -e \".[docs]\"")
    src = stage / "mkdocs_src"
    for f in nbs.rglob("*"):    # images and other files the pages may show
        if f.is_file() and f.suffix not in (".ipynb", ".md", ".yml", ".yaml") and not f.name.startswith("."):
            (src / f.relative_to(nbs)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, src / f.relative_to(nbs))
    nav = {"Home": [], "Modules": [], "Tutorials": []}
    for p in pages:
        nb, title = for_mkdocs(json.loads((stage / "_proc" / p.rel).read_text()))
        dst = (src / p.html).with_suffix(".ipynb")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(json.dumps(nb))
        section = "Home" if p.html == "index.html" else "Tutorials" if p.html.startswith("tutorials/") else "Modules"
        label = "Home" if section == "Home" else title or p.name     # the home page's title is the site's name
        nav[section].append({label: Path(p.html).with_suffix(".ipynb").as_posix()})
    (src / "assets").mkdir(exist_ok=True)
    (src / "assets" / "nbdocs.css").write_text(CSS)
    conf = {
        "site_name": cfg.get("title") or cfg.lib_name, "site_description": cfg.get("description", ""),
        "site_url": (cfg.get("doc_host", "") + cfg.get("doc_baseurl", "")).rstrip("/") + "/" if cfg.get("doc_host") else None,
        "repo_url": cfg.get("git_url") or None, "docs_dir": str(src), "site_dir": str(site), "use_directory_urls": False,
        "theme": {"name": "material", "font": False,   # no Google Fonts: the site works offline
                  "features": ["navigation.sections", "navigation.top", "search.highlight", "content.code.copy"]},
        "plugins": ["search", {"mkdocs-jupyter": {
            "execute": False, "include_source": False, "no_prompt": True, "cache": False, "include_requirejs": False,
            "remove_tag_config": {"remove_input_tags": ["nbdocs-hide-input"]}}}],
        "markdown_extensions": ["admonition", {"toc": {"permalink": True}}],
        "extra_css": ["assets/nbdocs.css"],
        "nav": [e for k in ("Home",) for e in nav[k]] + [{k: v} for k, v in nav.items() if k != "Home" and v],
    }
    conf = {k: v for k, v in conf.items() if v is not None}
    yml = stage / "mkdocs.yml"
    yml.write_text(yaml.safe_dump(conf, sort_keys=False, allow_unicode=True))
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}    # the theme's end-of-life banner (successor: Zensical)
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-f", str(yml)], cwd=stage, capture_output=True, text=True, env=env)
    log = (r.stdout + r.stderr).splitlines()
    if r.returncode: raise DocsError("mkdocs build failed:\n" + "\n".join(log[-30:]))
    share_inline_css(site)
    return [l for l in log if "WARNING" in l]


def share_inline_css(site: Path, min_size: int = 20_000) -> int:
    "mkdocs-jupyter inlines the same ~0.5 MB of notebook CSS into every page: move such repeated blocks to one file each."
    import hashlib
    pages = {f: f.read_text() for f in site.rglob("*.html")}
    rx = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
    seen = {}
    for t in pages.values():
        for css in {m.group(1) for m in rx.finditer(t) if len(m.group(1)) >= min_size}: seen[css] = seen.get(css, 0) + 1
    shared = {css: f"assets/nbdocs/{hashlib.sha1(css.encode()).hexdigest()[:12]}.css" for css, n in seen.items() if n > 1}
    if not shared: return 0
    (site / "assets" / "nbdocs").mkdir(parents=True, exist_ok=True)
    for css, rel in shared.items(): (site / rel).write_text(css)
    for f, t in pages.items():
        pre = os.path.relpath(site, f.parent).replace(os.sep, "/") + "/"
        pre = "" if pre == "./" else pre
        new = rx.sub(lambda m: f'<link rel="stylesheet" href="{pre}{shared[m.group(1)]}">' if m.group(1) in shared else m.group(0), t)
        if new != t: f.write_text(new)
    return len(shared)


# ---------------------------------------------------------------- nbdev's renderer: Quarto
def render_quarto_site(stage: Path, site: Path, jobs: int):
    "nbdev's normal path (what `nbdev-docs` does after processing): Quarto renders the processed notebooks."
    from fastcore.xtras import working_directory
    from nbdev.quarto import _fix_quarto_nav
    from nbdev.quarto_render import render_quarto
    with working_directory(stage):
        render_quarto(stage / "_proc", site, n_workers=jobs)
    _fix_quarto_nav(site)


def prepare_quarto(stage: Path, nbs: Path):
    "nbdev's `_quarto.yml`, `nbdev.yml` and `sidebar.yml` for the staged project (as `nbdev-docs` writes them)."
    from fastcore.xtras import working_directory
    from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml
    with working_directory(stage):
        refresh_quarto_yml()
        nbdev_sidebar.__wrapped__(path=nbs)
    if not (nbs / "styles.css").exists(): (nbs / "styles.css").write_text(CSS)   # nbdev's _quarto.yml names it


# ---------------------------------------------------------------- widgets' JavaScript from the site
def npm_package(name: str, version: str, cache: Path) -> Path:
    "The unpacked npm package `name@version` (fetched once with `npm pack`, then taken from `cache`)."
    d = cache / f"{name.strip('@').replace('/', '+')}-{version}"
    if (d / "package.json").exists(): return d
    npm = shutil.which("npm")
    if not npm: raise DocsError(f"npm not found: install Node.js/npm to fetch {name}@{version}, or unpack its npm tarball's "
                                f"package/ folder into {d}")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as t:
        r = subprocess.run([npm, "pack", f"{name}@{version}"], cwd=t, capture_output=True, text=True, timeout=600)
        tgz = next(Path(t).glob("*.tgz"), None)
        if r.returncode or not tgz:
            raise DocsError(f"npm pack {name}@{version} failed: {(r.stderr.strip().splitlines() or ['no tarball'])[-1]}")
        with tarfile.open(tgz) as tf: tf.extractall(Path(t) / "x", filter="data")
        if not d.exists(): os.replace(Path(t) / "x" / "package", d)
    return d


_CDN_MANAGER = re.compile(r"https?://[^'\"\s]+?@jupyter-widgets/html-manager@[^/'\"\s]*/dist/embed-amd\.js")
_CDN_MANAGER_TAG = re.compile(r"<script\b[^>]*\bsrc=\"https?://[^\"]+?@jupyter-widgets/html-manager@[^\"]*/embed-amd\.js\"[^>]*>")
_CDN_REQUIRE_TAG = re.compile(r"<script\b[^>]*\bsrc=\"https?://[^\"]+/require(?:\.min)?\.js\"[^>]*>")
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def serve_widgets_locally(site: Path, cache: Path) -> int:
    "Copy the widgets' JavaScript into `site/assets/widgets` and point every page at it; returns how many pages use it."
    use = [f for f in site.rglob("*.html") if WIDGET_STATE in (t := f.read_text(errors="ignore")) or _CDN_MANAGER.search(t)]
    if not use: return 0
    mgr, req = (npm_package(*NPM_PKGS[k], cache) for k in ("html-manager", "requirejs"))
    dest = site / "assets" / "widgets"
    (dest / "html-manager").mkdir(parents=True, exist_ok=True)
    for f in (mgr / "dist").iterdir():    # embed-amd.js and the icon fonts it loads from beside itself
        if f.is_file() and f.suffix != ".map" and not f.name.startswith("libembed"): shutil.copy2(f, dest / "html-manager" / f.name)
    shutil.copy2(req / "require.js", dest / "require.js")
    meta = [json.loads((p / "package.json").read_text()) for p in (mgr, req)]
    (dest / "NOTICE.txt").write_text("Fetched from the npm registry with `npm pack` by tools/nbdocs.py:\n" + "".join(
        f"- {m['name']} {m['version']} ({m.get('license', '?')} licence): {m.get('homepage', '')}\n" for m in meta))
    for f in use:
        up = os.path.relpath(site, f.parent).replace(os.sep, "/")
        pre = "" if up == "." else up + "/"
        local = f"{pre}assets/widgets/html-manager/embed-amd.js"
        t = _CDN_MANAGER_TAG.sub(f'<script src="{local}">', f.read_text())    # a tag (Quarto): drop integrity/crossorigin
        t = _CDN_MANAGER.sub(local, t)                                          # a URL in nbconvert's loader script
        # html-manager's bundles find their icon fonts beside their AMD module's URL: map `@jupyter-widgets/*` there
        conf = f'<script>require.config({{paths: {{"@jupyter-widgets": "{pre}assets/widgets/html-manager"}}}});</script>'
        t, n = _CDN_REQUIRE_TAG.subn(f'<script src="{pre}assets/widgets/require.js"></script>{conf}<script>', t)
        if not n and WIDGET_STATE in t:   # after the theme's own scripts, so they do not meet an AMD `define`
            t = t.replace("</body>", f'<script src="{pre}assets/widgets/require.js"></script>\n{conf}\n</body>', 1)
        f.write_text(t)
    return len(use)


# ---------------------------------------------------------------- the command
def _size(d: Path) -> tuple[int, int]:
    fs = [f for f in d.rglob("*") if f.is_file()]
    return len(fs), sum(f.stat().st_size for f in fs)


def check_out(out: Path, root: Path):
    "Refuse an output folder whose contents we did not write (the build replaces the whole folder)."
    if out == root or out in root.parents: raise DocsError(f"--out {out} would replace the project itself")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise DocsError(f"refusing to replace {out}: it is not empty and was not built by this tool (no {MARKER} in it)")


def run_notebooks(stage: Path, nbs: Path, pages: list[Page], flags: set[str], args) -> dict[str, dict]:
    "Execute (unless --check) and process every page's notebook in `args.jobs` workers, printing one line per notebook."
    from concurrent.futures import as_completed
    jobs = [{"name": p.name, "staged": str(nbs / p.rel), "proc": str(stage / "_proc" / p.rel), "cwd": str(p.src.parent),
             "execute": not args.check, "flags": sorted(flags), "timeout": args.timeout, "kernel": args.kernel} for p in pages]
    results = {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=get_context("spawn"),
                             initializer=_init_worker, initargs=(str(stage),)) as ex:
        futs = {ex.submit(build_nb, j): j["name"] for j in jobs}
        for fut in as_completed(futs):
            r = results[futs[fut]] = fut.result()
            bad = r["errors"] + ([f"nbdev's processing: {r['proc_error']}"] if r["proc_error"] else [])
            run = "" if args.check else f"ran in {r['exec_s']:5.1f} s ({r['skipped']} cells not run), "
            print(f"  {r['page']:40s} {run}processed in {r['proc_s']:4.1f} s  {'FAILED' if bad else 'ok'}", flush=True)
            for b in bad: print(f"      {r['page']}: {b}", flush=True)
            if r["mixed"]: print(f"      note: nbdev's processing also runs {', '.join(r['mixed'])}: each mixes an import with "
                                 "other code (nbdev warns; fine while it needs no earlier cell, but it runs twice)", flush=True)
    return results


def render(stage: Path, nbs: Path, pages: list[Page], cfg, renderer: str, out: Path, args) -> dict:
    "Render the processed notebooks, serve the widgets' JavaScript from the site, and replace `out` with the result."
    site = stage / "_site"
    try: warnings = render_mkdocs(stage, nbs, pages, cfg, site) if renderer == "mkdocs" else render_quarto_site(stage, site, args.jobs) or []
    except DocsError: raise
    except Exception as e: raise DocsError(f"{renderer} failed: {type(e).__name__}: {e}") from e
    for w in warnings: print(f"  {w}")
    n_widget_pages = serve_widgets_locally(site, Path(args.cache))
    (site / MARKER).write_text("Built by tools/nbdocs.py; the next build replaces this folder.\n")
    if out.exists(): shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(site), out)
    n_files, n_bytes = _size(out)
    return dict(out=str(out), files=n_files, bytes=n_bytes, widget_pages=n_widget_pages, renderer_warnings=warnings)


def build(args) -> int:
    from nbdev.config import get_config
    t_wall = time.time()
    if not (Path(args.root) / "pyproject.toml").is_file(): raise DocsError(f"--root {args.root}: no pyproject.toml there")
    cfg = get_config(path=Path(args.root).resolve())
    root = cfg.config_path
    pages = find_pages(root, cfg.nbs_path, root / "tutorials")
    renderer = args.renderer
    if renderer == "auto": renderer = "quarto" if shutil.which("quarto") else "mkdocs"
    if renderer == "quarto" and not shutil.which("quarto"): raise DocsError("--renderer quarto: `quarto` is not on PATH")
    out = Path(args.out or cfg.doc_path).resolve()
    if not args.check: check_out(out, root)
    if args.stage and Path(args.stage).exists() and any(Path(args.stage).iterdir()): raise DocsError(f"--stage {args.stage} must be empty or absent")
    stage = Path(args.stage).resolve() if args.stage else Path(tempfile.mkdtemp(prefix="nbdocs-"))
    stage.mkdir(parents=True, exist_ok=True)
    print(f"nbdocs: {len(pages)} pages, renderer {'none (--check)' if args.check else renderer}, "
          f"{'no execution' if args.check else 'executing'} with {args.jobs} workers, staged in {stage}", flush=True)
    try:
        nbs = stage_project(root, stage, cfg, pages)
        if renderer == "quarto" and not args.check: prepare_quarto(stage, nbs)
        from nbdev.serve import _proc_file
        for f in nbs.rglob("*"):   # non-notebook files go to _proc as `nbdev-proc-nbs` copies them
            if f.is_file() and f.suffix != ".ipynb": _proc_file(f, stage / "_proc", nbs)
        os.environ["PYTHONPATH"] = os.pathsep.join([str(stage)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
        os.environ.setdefault("RLKD_SMALL", "1")   # tutorials run their short CPU path, as CI runs them (RLKD_SMALL=0: the full one)
        results = run_notebooks(stage, nbs, pages, set(str(cfg.get("tst_flags", "")).split()), args)
        failures = [(p.name, e) for p in pages for e in results[p.name]["errors"]]
        failures += [(p.name, f"nbdev's processing failed at {results[p.name]['proc_error']}") for p in pages if results[p.name]["proc_error"]]
        linker = Linker(root, cfg, pages, root / "tutorials")
        for p in pages:
            f = stage / "_proc" / p.rel
            nb = failed_page(p, results[p.name]["proc_error"]) if results[p.name]["proc_error"] else json.loads(f.read_text())
            f.write_text(json.dumps(drop_unused_widget_state(fix_links(nb, p, linker)), indent=1))
        summary = {"pages": len(pages), "renderer": None if args.check else renderer, "failures": [f"{n}: {e}" for n, e in failures],
                   "pages_html": [p.html for p in pages]}
        if not args.check: summary.update(render(stage, nbs, pages, cfg, renderer, out, args))
        ru = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        summary.update(wall_s=round(time.time() - t_wall, 1), cpu_s=round(sum(u.ru_utime + u.ru_stime for u in ru), 1))
        where = "" if args.check else f" -> {out} ({summary['files']} files, {summary['bytes'] / 2**20:.1f} MiB)"
        print(f"nbdocs: {len(pages) - len({n for n, _ in failures})}/{len(pages)} pages ok{where}; "
              f"{summary['wall_s']} s wall, {summary['cpu_s']} s CPU (this process and its children)")
        for n, e in failures: print(f"FAILED {n}: {e}", file=sys.stderr)
        if args.json: print(json.dumps(summary))
        return 1 if failures else 0
    finally:
        if not args.stage: shutil.rmtree(stage, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="nbdocs", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--root", default=str(ROOT), help="the project (folder with pyproject.toml); default: this tool's project")
    ap.add_argument("--out", help="site folder (default: doc_path in pyproject.toml); replaced by each build")
    ap.add_argument("--renderer", choices=("auto", "quarto", "mkdocs"), default="auto",
                    help="auto: Quarto when `quarto` is on PATH, else mkdocs-material + mkdocs-jupyter")
    ap.add_argument("--check", action="store_true", help="only nbdev's processing of every page (no execution, no site)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="notebooks built in parallel")
    ap.add_argument("--timeout", type=int, default=600, help="seconds a cell may run")
    ap.add_argument("--kernel", default="python3", help="Jupyter kernel that executes the notebooks")
    ap.add_argument("--cache", default=str(CACHE), help="where the npm packages are kept between builds")
    ap.add_argument("--stage", help="build in this (new or empty) folder and keep it, to inspect the processed notebooks")
    ap.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    args = ap.parse_args(argv)
    try: return build(args)
    except DocsError as e:
        print(f"nbdocs: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # run from the module `nbdocs`, not `__main__`: the workers' IPython shells replace `sys.modules["__main__"]`,
    # after which functions pickled by reference to `__main__` can no longer be found there
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import nbdocs
    sys.exit(nbdocs.main())
