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
