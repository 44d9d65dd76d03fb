"Headless Chromium screenshots for the browser checks (shared by the viewer and demo tests)."
import os, shutil, subprocess, tempfile
from pathlib import Path


def find_chromium():
    "Path of a Chromium-family browser ($RLKD_CHROMIUM first), or None."
    for name in (os.environ.get("RLKD_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if name and shutil.which(name): return shutil.which(name)
    return None


def screenshot_file(page: Path, png: Path, width: int = 1280, height: int = 2000, timeout: int = 180):
    "Screenshot a local HTML file with headless Chromium at width x height; returns the PIL image."
    chromium = find_chromium()
    assert chromium, "no headless Chromium found"
    if png.exists(): png.unlink()
    with tempfile.TemporaryDirectory() as prof:
        r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                            "--disable-component-update", "--no-first-run", "--hide-scrollbars", f"--user-data-dir={prof}",
                            f"--window-size={width},{height}", f"--screenshot={png}", Path(page).resolve().as_uri()],
                           capture_output=True, text=True, timeout=timeout)
    assert png.exists(), f"chromium wrote no screenshot (rc {r.returncode}): {r.stderr[-800:]}"
    from PIL import Image
    return Image.open(png).convert("RGB")


def dump_dom(page: Path, width: int = 1280, height: int = 2000, timeout: int = 180) -> str:
    "The DOM of a local HTML file after its scripts ran, from headless Chromium (`--dump-dom`)."
    chromium = find_chromium()
    assert chromium, "no headless Chromium found"
    with tempfile.TemporaryDirectory() as prof:
        r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                            "--disable-component-update", "--no-first-run", "--hide-scrollbars", f"--user-data-dir={prof}",
                            f"--window-size={width},{height}", "--virtual-time-budget=5000", "--dump-dom", Path(page).resolve().as_uri()],
                           capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0 and "<html" in r.stdout, f"chromium dumped no DOM (rc {r.returncode}): {r.stderr[-800:]}"
    return r.stdout


# A test-only script: the boxes of every text in the viewer's tree drawings, as the browser laid them out.
BOX_SCRIPT = """<script>
const rect = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const out = [...document.querySelectorAll('svg.rk-treesvg')].map(svg => ({
  svg: rect(svg), box: rect(svg.closest('.rk-tree')),
  texts: [...svg.querySelectorAll('text')].map(t => ({cls: t.getAttribute('class') || '',
    text: [...t.childNodes].filter(n => n.nodeType === 3).map(n => n.data).join(''), box: rect(t)}))}));
const p = document.createElement('pre'); p.id = 'rk-boxes'; p.textContent = JSON.stringify(out); document.body.appendChild(p);
</script>"""


def text_boxes(html: str, page: Path, width: int = 1280, height: int = 2000) -> list:
    "Per tree drawing in `html`: its box, its scroll container's box, and every text's content and box (px)."
    import html as _html, json, re
    page.write_text(html.replace("</body>", BOX_SCRIPT + "</body>"), encoding="utf-8")
    m = re.search(r'<pre id="rk-boxes">(.*?)</pre>', dump_dom(page, width, height), re.S)
    assert m, "the box script did not run"
    return json.loads(_html.unescape(m.group(1)))
