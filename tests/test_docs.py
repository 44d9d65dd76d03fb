"""The docs site: `python tools/nbdocs.py` (the docs command) builds it, and these tests check the result.

Fast: the tool names the notebook and the cell when nbdev's processing fails and exits non-zero, leaves out and
labels the cells nbdev-test leaves out, and never replaces a folder it did not build (a toy project, seconds).
Slow (the real project, one build into a temp dir, a few minutes on 2 cores): the build exits 0; every page exists
(index, each `nbs/*.ipynb`, each `tutorials/*.ipynb`); no page shows an error output; the structure viewer's HTML
is on the viewer page and on every tutorial page; every relative href/src resolves to a file and every `#anchor`
into a page exists; the widgets' JavaScript comes from the site, not a CDN; in headless Chromium (over HTTP,
one browser for all pages) every page loads with no script error and no failed request, widgets render, search
finds an API entry, and a screenshot of tutorial 1 is kept in $RLKD_ARTIFACTS. Also: nbdev's own
`nbdev-proc-nbs` exits 0 on a copy of the project.
"""
import base64, fcntl, functools, html.parser, importlib.util, http.server, json, os, re, select, shutil, subprocess, sys, threading, time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from browser import find_chromium

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "nbdocs.py"
sys.path.insert(0, str(TOOL.parent))
import nbdocs  # noqa: E402

MKDOCS = all(importlib.util.find_spec(m) for m in ("mkdocs", "material", "mkdocs_jupyter"))
needs_mkdocs = pytest.mark.skipif(not MKDOCS, reason='the offline docs renderer is not installed: pip install -e ".[docs]"')
CHROMIUM = find_chromium()
CDN = re.compile(r"https?://[^\s'\"]*(unpkg\.com|jsdelivr\.net|cdnjs\.cloudflare\.com)[^\s'\"]*(html-manager|require)[^\s'\"]*")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium found (apt-get install -y chromium, or set RLKD_CHROMIUM)")


def docs(*args, timeout=900, **env):
    "Run the docs command; returns the CompletedProcess (stdout+stderr in .out)."
    r = subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                       cwd=ROOT, env={**os.environ, **env})
    r.out = r.stdout + r.stderr
    return r


# ---------------------------------------------------------------- a toy project (fast)
def _nb(*cells):
    mk = lambda i, t, s: {"cell_type": t, "id": f"c{i}", "metadata": {}, "source": s,
                          **({"outputs": [], "execution_count": None} if t == "code" else {})}
    return {"cells": [mk(i, *c) for i, c in enumerate(cells)], "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}


@pytest.fixture
def toy(tmp_path):
    "A two-notebook nbdev project: `00_good` is fine, `01_bad` has a cell that mixes an import with earlier variables."
    p = tmp_path / "toy"
    (p / "toy").mkdir(parents=True)
    (p / "toy" / "__init__.py").write_text("")
    (p / "pyproject.toml").write_text('[project]\nname = "toy"\nversion = "0.1"\n\n[tool.nbdev]\nlib_path = "toy"\n'
                                      'nbs_path = "nbs"\ntst_flags = "notest slow"\njupyter_hooks = false\n')
    (p / "nbs").mkdir()
    good = _nb(("markdown", "# Good\n> A page that builds."), ("code", "#| default_exp good"),
               ("code", "#| export\ndef twice(x):\n    \"Double `x`.\"\n    return 2 * x"),
               ("code", "print(twice(21))"),
               ("code", "#| slow\nopen('slow_cell_ran.txt', 'w').write('yes')"))
    bad = _nb(("markdown", "# Bad\n> nbdev's processing fails here."), ("code", "#| default_exp bad"),
              ("code", "#| export\ndef one(): return 1"), ("code", "y = one()"),
              ("code", "import math\nz = y + math.pi"))
    (p / "nbs" / "00_good.ipynb").write_text(json.dumps(good))
    (p / "nbs" / "01_bad.ipynb").write_text(json.dumps(bad))
    return p


def test_failing_notebook_is_named_with_its_cell(toy):
    r = docs("--root", toy, "--check", "--jobs", 1, timeout=300)
    assert r.returncode == 1, r.out
    failed = [l for l in r.stderr.splitlines() if l.startswith("FAILED")]
    assert len(failed) == 1, r.out
    assert "nbs/01_bad.ipynb" in failed[0] and "cell 4 ('import math')" in failed[0], failed
    assert "NameError: name 'y' is not defined" in failed[0] and "put the import in a cell of its own" in failed[0]
    assert re.search(r"nbs/00_good\.ipynb .* ok", r.stdout), r.out


@pytest.mark.slow   # a kernel and mkdocs for two tiny notebooks: ~30 s on a shared 2-core machine
@needs_mkdocs
def test_toy_site_marks_skipped_cells_and_failed_pages(toy, tmp_path):
    out = tmp_path / "site"
    r = docs("--root", toy, "--out", out, "--jobs", 1, "--renderer", "mkdocs", timeout=600)
    assert r.returncode == 1 and "FAILED nbs/01_bad.ipynb" in r.stderr, r.out
    good, bad = (out / "good.html").read_text(), (out / "bad.html").read_text()
    assert "42" in good, "the executed cell's output is on the page"
    assert f'class="{nbdocs.NOTE_CLS}"' in good and "#| slow" in good, "the flagged cell is labelled as not run"
    assert not (toy / "nbs" / "slow_cell_ran.txt").exists(), "a slow cell was executed"
    assert 'id="twice"' in good and "Double" in good, "show_doc entry with its anchor and docstring"
    assert f'class="{nbdocs.FAIL_CLS}"' in bad and "cell 4" in bad, "the failed page says what failed"
    assert (out / nbdocs.MARKER).exists()


def test_refuses_to_replace_a_folder_it_did_not_build(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    r = docs("--out", out, timeout=120)
    assert r.returncode == 2 and "refusing to replace" in r.stderr, r.out
    assert (out / "notes.txt").read_text() == "keep me"
    r = docs("--out", ROOT, timeout=120)
    assert r.returncode == 2 and "would replace the project itself" in r.stderr, r.out


def test_links_are_made_relative_to_the_page(tmp_path):
    "nbdev's absolute doc links and links to notebooks become page-relative; links to other repo files go to GitHub."
    from nbdev.config import get_config
    cfg = get_config(path=ROOT)
    pages = nbdocs.find_pages(ROOT, cfg.nbs_path, ROOT / "tutorials")
    link = nbdocs.Linker(ROOT, cfg, pages, ROOT / "tutorials")
    tut = next(p for p in pages if p.html.startswith("tutorials/"))
    core = next(p for p in pages if p.src.name.endswith("_core.ipynb"))
    base = cfg.doc_host + cfg.doc_baseurl
    assert link(f"{base}/core.html#step", tut) == "../core.html#step"
    assert link(f"{base}/core.html#step", core) == "core.html#step"
    assert link(f"../nbs/{core.src.name}#parsing", tut) == "../core.html#parsing"
    assert link("../pyproject.toml", core) == f"{cfg.git_url}/blob/{cfg.branch}/pyproject.toml"
    assert link("https://example.org/x.html", core) == "https://example.org/x.html"
    assert link("#local", core) == "#local"


def test_quarto_pages_get_the_widget_javascript_from_the_site(tmp_path):
    "Quarto's pages load require.js and html-manager from CDNs, with integrity hashes: both become files of the site."
    page = tmp_path / "tutorials" / "t.html"
    page.parent.mkdir()
    page.write_text('<html><head><script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.6/require.min.js" '
                    'integrity="sha512-c3Nl" crossorigin="anonymous"></script>\n<script src="https://unpkg.com/@jupyter-widgets/'
                    'html-manager@*/dist/embed-amd.js" crossorigin="anonymous"></script></head><body><script type="'
                    f'{nbdocs.WIDGET_STATE}">{{}}</script></body></html>')
    (tmp_path / "plain.html").write_text("<html><head></head><body>no widgets</body></html>")
    assert nbdocs.serve_widgets_locally(tmp_path, nbdocs.CACHE) == 1
    t = page.read_text()
    assert not CDN.search(t) and "integrity" not in t and "crossorigin" not in t, t
    srcs = re.findall(r'<script src="([^"]+)"', t)
    assert srcs == ["../assets/widgets/require.js", "../assets/widgets/html-manager/embed-amd.js"], srcs
    assert all((page.parent / s).is_file() for s in srcs)
    assert '"@jupyter-widgets": "../assets/widgets/html-manager"' in t    # where its bundles find their fonts
    assert (tmp_path / "plain.html").read_text() == "<html><head></head><body>no widgets</body></html>"


# ---------------------------------------------------------------- the real site (slow)
@pytest.fixture(scope="module")
def site(run_tmp, run_lock):
    "The site, built once per test run: under pytest-xdist the first worker that needs it builds it, another one reuses it."
    if not MKDOCS: pytest.skip('the offline docs renderer is not installed: pip install -e ".[docs]"')
    out, built = run_tmp / "docs" / "site", run_tmp / "docs" / "build.json"
    with run_lock("docs-site"):
        if not built.exists():
            out.parent.mkdir(exist_ok=True)
            r = docs("--out", out, "--renderer", "mkdocs", "--json", timeout=1800, RLKD_SMALL="1")
            built.write_text(json.dumps({"rc": r.returncode, "out": r.out, "stdout": r.stdout}))
    r = json.loads(built.read_text())
    if not out.exists(): pytest.fail(f"the docs command built no site (exit {r['rc']}):\n{r['out'][-3000:]}")
    try: summary = json.loads(r["stdout"].strip().splitlines()[-1])
    except (ValueError, IndexError): summary = {}
    return {"out": out, "rc": r["rc"], "log": r["out"], "summary": summary}


def _config():
    from nbdev.config import get_config
    return get_config(path=ROOT)


CFG = _config()
PAGES = nbdocs.find_pages(ROOT, CFG.nbs_path, ROOT / "tutorials")
assert PAGES, "no notebooks found"
BASEURL = "/".join(["", *filter(None, CFG.get("doc_baseurl", "").split("/")), ""])   # "/rlkd_nb/", or "/"
TUTORIAL_1 = next((p.html for p in PAGES if p.rel.parent.name == "tutorials" and p.src.name.startswith("01_")), None)
VIEWER_PAGES = [p.html for p in PAGES if p.html.startswith("tutorials/") or
                re.search(r"^#\|\s*default_exp\s+viz\s*$", "\n".join("".join(c["source"]) for c in json.loads(p.src.read_text())["cells"]), re.M)]


def _viewer_classes():
    "The viewer's scope class and step-node class, read from what rlkd_nb.viz renders (so a rename cannot fool the test)."
    import rlkd_nb.viz  # noqa: F401  (registers the HTML display of Structure)
    from rlkd_nb.core import Step, Structure
    h = Structure([Step("Find the eggs sold.", "How many eggs are sold?", "9")])._repr_html_()
    scope = re.search(r'<(?:div|section|main)\s[^>]*class="([^"\s]+)', h).group(1)
    step = re.search(r'<details\s[^>]*class="([^"\s]+)', h).group(1)
    return scope, step


def test_prose_names_no_private_name_in_backticks():
    "nbdev turns a backticked name into a link to its doc anchor, and private names (`_x`) get no anchor: write <code>_x</code>."
    found = []
    for page in PAGES:
        for i, cell in enumerate(json.loads(page.src.read_text())["cells"]):
            if cell["cell_type"] == "markdown":
                found += [f"{page.src.name} cell {i}: `{n}`" for n in re.findall(r"`(_[A-Za-z]\w*)[^`]*`", "".join(cell["source"]))]
    assert not found, "backticked private names (broken links on the site):\n" + "\n".join(found)


@pytest.mark.slow
def test_build_exits_0(site):
    failed = [l for l in site["log"].splitlines() if l.startswith("FAILED")]
    assert site["rc"] == 0, f"the docs command exited {site['rc']}:\n" + "\n".join(failed or site["log"].splitlines()[-40:])


@pytest.mark.slow
def test_every_notebook_has_a_page(site):
    missing = [p.html for p in PAGES if not (site["out"] / p.html).is_file()]
    assert not missing, missing
    assert any(p.html.startswith("tutorials/") for p in PAGES) and (site["out"] / "index.html").is_file()
    assert any(not p.startswith("tutorials/") for p in VIEWER_PAGES), "the viewer's notebook (default_exp viz) was not found"


ERROR_MARKS = [(re.compile(r"Traceback \(most recent call last\)"), "a Python traceback"),
               (re.compile(r'<span class="ansi-red-fg">[A-Za-z_.]*(Error|Exception)\b'), "an error output"),
               (re.compile(r'class="[^"]*cell-output-error'), "an error output (Quarto)"),
               (re.compile(rf'class="{nbdocs.FAIL_CLS}"'), "a page that failed nbdev's processing")]


@pytest.mark.slow
@pytest.mark.parametrize("page", [p.html for p in PAGES])
def test_page_has_no_error_output(site, page):
    f = site["out"] / page
    if not f.exists(): pytest.fail(f"{page} was not built")
    text = f.read_text()
    found = [what for rx, what in ERROR_MARKS if rx.search(text)]
    assert not found, f"{page} shows {', '.join(found)}"


@pytest.mark.slow
@pytest.mark.parametrize("page", VIEWER_PAGES)
def test_viewer_html_on_page(site, page):
    scope, step = _viewer_classes()
    text = (site["out"] / page).read_text()
    assert re.search(rf'class="{scope}[\s"]', text) and re.search(rf'<details\b[^>]*class="{step}[\s"]', text), \
        f"{page} shows no structure viewer output (no `{scope}` block with `{step}` nodes)"


class _Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"): self.ids.add(a["id"])
        if tag == "a" and a.get("name"): self.ids.add(a["name"])
        for k in ("href", "src"):
            if a.get(k) and not (tag == "link" and a.get("rel") in ("canonical", "alternate")): self.refs.append(a[k])


@pytest.mark.slow
def test_no_broken_link_inside_the_site(site):
    out, parsed = site["out"], {}
    for f in out.rglob("*.html"):
        p = _Refs()
        p.feed(f.read_text(errors="replace"))
        parsed[f] = p
    broken, checked = [], 0
    for f, p in parsed.items():
        for ref in p.refs:
            u = urlsplit(ref)
            if u.scheme or u.netloc or ref.startswith(("data:", "javascript:", "mailto:")) or not (u.path or u.fragment): continue
            path = unquote(u.path)
            if path.startswith("/"):   # root-relative (the 404 page): the site is published at doc_host + doc_baseurl
                if not path.startswith(BASEURL): broken.append(f"{f.relative_to(out)}: {ref} (outside {BASEURL})"); continue
                target = (out / path[len(BASEURL):]).resolve()
            else: target = (f.parent / path).resolve() if path else f
            if target.is_dir(): target = target / "index.html"
            checked += 1
            if not target.is_file() or not target.is_relative_to(out.resolve()):
                broken.append(f"{f.relative_to(out)}: {ref} (no such file)")
            elif u.fragment and target.suffix == ".html" and target in parsed and unquote(u.fragment) not in parsed[target].ids:
                broken.append(f"{f.relative_to(out)}: {ref} (no such anchor)")
    assert checked > 100, f"only {checked} links checked: the crawl found too little"
    assert not broken, f"{len(broken)} broken links, e.g.:\n" + "\n".join(sorted(set(broken))[:25])



@pytest.mark.slow
def test_widget_javascript_comes_from_the_site(site):
    out, users = site["out"], []
    for f in out.rglob("*.html"):
        t = f.read_text()
        assert not CDN.search(t), f"{f.relative_to(out)} loads widget JavaScript from a CDN: {CDN.search(t).group(0)}"
        if nbdocs.WIDGET_STATE in t: users.append(f)
    assert users, "no page carries widget state: the widgets were not captured when the notebooks ran"
    for f in users:
        t = f.read_text()
        for ref in re.findall(r"""["']([^"']*assets/widgets/[^"']+\.js)["']""", t) or pytest.fail(f"{f} has widget state but no local widget JS"):
            assert (f.parent / ref).resolve().is_file(), f"{f.relative_to(out)}: {ref} missing"
    assert (out / "assets" / "widgets" / "NOTICE.txt").read_text().count("licence") == 2


# ---------------------------------------------------------------- headless Chromium over HTTP (DevTools protocol on a pipe)
class Browser:
    "Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`): no extra packages."
    def __init__(self, exe, profile: Path, width=1280, height=1000):
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        def _fds():   # Chromium reads commands on fd 3 and writes replies on fd 4
            a, b = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3), os.dup2(b, 4)
        self.proc = subprocess.Popen([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                      "--disable-component-update", "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
                                      f"--window-size={width},{height}", "--remote-debugging-pipe", "about:blank"],
                                     preexec_fn=_fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r), os.close(res_w)
        self.w, self.r, self.buf, self.n, self.events, self.width = cmd_w, res_r, b"", 0, [], width
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"): self.call(f"{domain}.enable", page=True)

    def _message(self, timeout):
        end = time.time() + timeout
        while b"\0" not in self.buf:
            if not select.select([self.r], [], [], max(0, end - time.time()))[0]: raise TimeoutError("Chromium did not answer")
            chunk = os.read(self.r, 1 << 20)
            if not chunk: raise RuntimeError("Chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, page=False, timeout=60, **params):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params, **({"sessionId": self.session} if page else {})}
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._message(timeout)
            if m.get("id") == self.n:
                if "error" in m: raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m: self.events.append(m)

    def goto(self, url, timeout=60):
        "Load `url` and wait for its load event (what happens meanwhile is in `problems()`)."
        self.events = []
        self.call("Page.navigate", page=True, url=url)
        end = time.time() + timeout
        while not any(e["method"] == "Page.loadEventFired" for e in self.events):
            m = self._message(max(0.1, end - time.time()))
            if "method" in m: self.events.append(m)
    def problems(self, origin=""):
        "Script errors, console errors, and failed requests to `origin` (others: e.g. the theme asking GitHub for stars)."
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append(f"script error: {d.get('exception', {}).get('description', d.get('text'))}"[:300])
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error" and (
                    p["entry"]["source"] != "network" or p["entry"].get("url", "").startswith(origin)):
                out.append(f"{p['entry']['source']}: {p['entry']['text']} {p['entry'].get('url', '')}"[:300])
        return out

    def js(self, expr):
        r = self.call("Runtime.evaluate", page=True, expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r: raise RuntimeError(f"{expr}: {r['exceptionDetails'].get('text')}")
        return r["result"].get("value")

    def wait(self, expr, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if self.js(expr): return True
            self.call("Runtime.evaluate", page=True, expression="new Promise(r => setTimeout(r, 250))", awaitPromise=True)
        return False

    def screenshot(self, png: Path, max_height=12000):
        h = min(max_height, int(self.js("document.documentElement.scrollHeight")))
        self.call("Emulation.setDeviceMetricsOverride", page=True, width=self.width, height=h, deviceScaleFactor=1, mobile=False)
        png.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", page=True, format="png", captureBeyondViewport=True)["data"]))
        self.call("Emulation.clearDeviceMetricsOverride", page=True)
        return h

    def close(self):
        try: self.call("Browser.close", timeout=10)
        except Exception: pass
        try: self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired: self.proc.kill()
        os.close(self.w), os.close(self.r)


@pytest.fixture(scope="module")
def served(site):
    "The site over HTTP on a free localhost port (search needs HTTP; file:// blocks its web worker)."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site["out"])))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None: pytest.skip("no headless Chromium found (apt-get install -y chromium, or set RLKD_CHROMIUM)")
    b = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.mark.slow
@needs_chromium
def test_pages_load_in_chromium(site, served, browser, artifacts_dir):
    scope, step = _viewer_classes()
    bad = []
    for p in PAGES:
        if not (site["out"] / p.html).exists(): bad.append(f"{p.html}: not built"); continue
        browser.goto(served + p.html)
        problems = []
        if not browser.js("document.querySelector('article') !== null && document.querySelector('article').innerText.trim().length > 200"):
            problems.append("no article text")
        if browser.js("document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]').length"):
            if not browser.wait("document.querySelector('.jupyter-widgets') !== null", 30): problems.append("widgets did not render")
        if p.html in VIEWER_PAGES and not browser.js(f"document.querySelectorAll('.{scope} details.{step}').length > 0"):
            problems.append("no structure viewer nodes in the DOM")
        problems += browser.problems(origin=served)    # including what happened while the widgets rendered
        bad += [f"{p.html}: {x}" for x in dict.fromkeys(problems)]
        if p.html == TUTORIAL_1:
            h = browser.screenshot(artifacts_dir / "docs_tutorial_01.png")
            assert h > 2000, f"tutorial 1 page is only {h} px tall"
    assert not bad, "\n".join(bad)
    assert TUTORIAL_1 and (artifacts_dir / "docs_tutorial_01.png").stat().st_size > 50_000


@pytest.mark.slow
@needs_chromium
def test_search_finds_an_api_entry(served, browser):
    browser.goto(served + "index.html")
    typed = browser.js("""(() => { const i = document.querySelector('input.md-search__input'); if (!i) return false;
        i.focus(); i.value = 'parse_gsrm'; i.dispatchEvent(new Event('focus')); i.dispatchEvent(new Event('input', {bubbles: true}));
        i.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true, key: 'm'})); return true; })()""")
    assert typed, "no search box on the home page"
    assert browser.wait("document.querySelectorAll('.md-search-result__item').length > 0", 30), "search found nothing for 'parse_gsrm'"
    hrefs = browser.js("[...document.querySelectorAll('.md-search-result__item a')].map(a => a.getAttribute('href'))")
    assert any("core.html" in h for h in hrefs), hrefs


@pytest.mark.slow
def test_nbdev_proc_nbs_exits_0(tmp_path):
    "nbdev's own processing command (the first half of `nbdev-docs`) on a copy of the project."
    exe = shutil.which("nbdev-proc-nbs") or str(Path(sys.executable).parent / "nbdev-proc-nbs")
    for name in ("pyproject.toml",): shutil.copy2(ROOT / name, tmp_path / name)
    for d in ("nbs", "rlkd_nb"): shutil.copytree(ROOT / d, tmp_path / d, ignore=shutil.ignore_patterns("__pycache__", "_proc"))
    r = subprocess.run([exe], cwd=tmp_path, capture_output=True, text=True, timeout=1200,
                       env={**os.environ, "PYTHONPATH": str(tmp_path)})
    log = r.stdout + r.stderr
    where = re.findall(r"^Exception: (Error in notebook: .*? in cell \d+) :$", log, re.M)
    why = re.findall(r"^(\w+(?:Error|Exception): .*)$", log, re.M)
    assert r.returncode == 0, (f"nbdev-proc-nbs exited {r.returncode}: {where[-1] if where else '?'} (nbdev's cell count; "
                               f"`python tools/nbdocs.py --check` names the notebook's own cells): {why[-1] if why else log[-800:]}")
