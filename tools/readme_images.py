#!/usr/bin/env python
"""The pictures on the README and the docs home page (`nbs/index.ipynb`), made from real renders.

    python tools/readme_images.py

- `nbs/images/tree_viewer.png`: one GRPO group drawn by the viewer (`rlkd_nb.viz.render_group`: the prefix tree of the
  samples' sub-problem choices, the teacher's path as the trunk, the teacher beside the first sample that leaves it),
  screenshotted by headless Chromium. The samples are traces written by the built-in generator's rules, extracted by
  the heuristic GSRM and scored with the default judge, as training scores them.
- `nbs/images/nano_experiment.png`: a copy of `benchmarks/results/nano_experiment.png` (the nano world's curves,
  written by `benchmarks/nano_experiment.py`), when that file exists.
Images live under `nbs/` so the docs site serves them beside the home page; `.ci/make_readme.py` points the README
at the same files.
"""
import re, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "nbs" / "images"


def group_page() -> str:
    "A complete HTML page with one rendered group of 8 samples of a built-in problem."
    from rlkd_nb.core import Structure
    from rlkd_nb.data import load_builtin
    from rlkd_nb.gsrm import extract
    from rlkd_nb.viz import render_group, wrap_page
    rec = load_builtin(n=5, seed=0)[0]
    laid, eaten, baked, price = [int(x) for x in re.findall(r"\d+", rec["problem"])][:4]
    left, kept, name = laid - eaten - baked, eaten + baked, rec["problem"].split("'")[0]
    plan = (f"Only the eggs that are left get sold, so count them first. How many eggs does {name} sell each day? "
            f"{laid} - {eaten} - {baked} = {left}.\n\nEach sold egg brings ${price}, so multiply. How many dollars does {name} "
            f"make each day? {left} * {price} = {left * price}.\n\nSo the answer is {left * price}.")
    check = plan.replace("\n\nSo the answer", f"\n\nWait, let me check that again. {left} * {price} = {left * price}, yes.\n\nSo the answer")
    detour = (f"First find the value of all {laid} eggs at ${price} each. How much would all {laid} eggs be worth? "
              f"{laid} * {price} = {laid * price}.\n\nThen take off the eggs {name} keeps. How much are the {kept} kept eggs worth? "
              f"{kept} * {price} = {kept * price}.\n\nSo the answer is {laid * price} - {kept * price} = {left * price}.")
    guess = f"{name} sells eggs for ${price}. How many dollars does {name} make each day? {laid} * {price} = {laid * price}.\n\nSo the answer is {laid * price}."
    traces = [rec["teacher_trace"], check, plan, plan, detour, detour, guess, check]
    labels = ["teacher's own trace", "plan + check", "plan", "plan (again)", "detour", "detour (again)", "guess", "plan + check (again)"]
    teacher = Structure.from_dict(rec["teacher_structure"])
    students = [extract(rec["problem"], t) for t in traces]
    body = render_group(teacher, students, problem=rec["problem"], labels=labels, css=False)
    return wrap_page(body, title="RLKD tree viewer")


def screenshot(html: str, png: Path, width: int = 1100, height: int = 1500):
    "Screenshot `html` with headless Chromium, then crop the white margin below the content."
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import screenshot_file
    with tempfile.TemporaryDirectory() as d:
        page = Path(d) / "page.html"
        page.write_text(html, encoding="utf-8")
        img = screenshot_file(page, Path(d) / "shot.png", width=width, height=height)
    from PIL import ImageChops, Image
    bbox = ImageChops.difference(img, Image.new("RGB", img.size, (255, 255, 255))).getbbox()
    if bbox: img = img.crop((0, 0, img.width, min(img.height, bbox[3] + 16)))
    png.parent.mkdir(parents=True, exist_ok=True)
    img.save(png, optimize=True)
    return img.size


if __name__ == "__main__":
    print("tree_viewer.png", screenshot(group_page(), OUT / "tree_viewer.png"))
    nano = ROOT / "benchmarks" / "results" / "nano_experiment.png"
    if nano.exists(): shutil.copy2(nano, OUT / "nano_experiment.png"); print("nano_experiment.png copied")
    else: print(f"{nano} not found: no nano figure copied")
