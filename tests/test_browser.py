"""A real browser renders the viewer's pages: headless Chromium screenshots at 1280 px, kept as test artifacts.

Screenshots go to $RLKD_ARTIFACTS (default: artifacts/ at the project root, git-ignored).
Skipped, with the reason, when no Chromium is installed (Debian: `apt-get install -y chromium`).
"""
import os
from pathlib import Path

import pytest

from rlkd_nb.core import Step, Structure
from rlkd_nb.viz import render_page, render_pair, render_group, wrap_page, prefix_tree, branch_stats, tree_layout
from browser import find_chromium, screenshot_file, text_boxes

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1280, 2000


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium found (apt-get install -y chromium, or set RLKD_CHROMIUM)")


@pytest.fixture(scope="module")
def artifacts():
    d = Path(os.environ.get("RLKD_ARTIFACTS", ROOT / "artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def screenshot(html: str, png: Path, height: int = HEIGHT):
    "Write `html` beside `png` and screenshot it with headless Chromium at WIDTH x height."
    page = png.with_suffix(".html")
    page.write_text(html, encoding="utf-8")
    return screenshot_file(page, png, WIDTH, height, timeout=120)


def pixels(img):
    "Counts of non-white and dark (text) pixels."
    g = img.convert("L")
    hist = g.histogram()
    return sum(hist[:245]), sum(hist[:90])


def right_margin_is_clear(img, px: int = 14) -> bool:
    "True when nothing paints into the page's right margin (no horizontal overflow)."
    strip = img.crop((img.width - px, 0, img.width, img.height)).convert("L")
    return min(strip.tobytes()) >= 235


def _records():
    from rlkd_nb.data import load_builtin
    recs = []
    for r in load_builtin(n=3, seed=1):
        t = Structure.from_dict(r["teacher_structure"])
        drifted = Structure([Step(s.meta, s.subproblem, s.answer) for s in t.steps])
        if len(drifted) > 1: drifted.steps[1] = Step("Try guessing from the units instead.", "What unit is the answer in?", "dollars")
        halved = Structure([Step(s.meta, s.subproblem + " exactly", s.answer) for s in t.steps])
        recs.append({"problem": r["problem"], "teacher_structure": r["teacher_structure"],
                     "students": [t.to_dict(), drifted.to_dict(), halved.to_dict(), r["teacher_trace"], "I don't know. <script>alert(1)</script>"],
                     "accuracy": [1, 0, 1, 1, 0]})
    return recs


def test_group_page_renders(artifacts):
    html = render_page(_records(), title="RLKD viewer — browser check", judge="lexical", open_first=True)
    img = screenshot(html, artifacts / "viz_group_page.png")
    assert img.size == (WIDTH, HEIGHT)
    ink, dark = pixels(img)
    assert ink > 0.05 * WIDTH * HEIGHT, "page looks blank"
    assert dark > 0.002 * WIDTH * HEIGHT, "no readable text found"
    # the status colours of the badges and tree are drawn (full match green, gate red)
    raw = img.resize((WIDTH // 2, HEIGHT // 2)).tobytes()
    colours = set(zip(raw[0::3], raw[1::3], raw[2::3]))
    near = lambda c, ref: all(abs(a - b) < 30 for a, b in zip(c, ref))
    assert any(near(c, (0x1a, 0x7f, 0x37)) for c in colours), "no full-match green"
    assert any(near(c, (0xcf, 0x22, 0x2e)) for c in colours), "no gate red"
    assert right_margin_is_clear(img)


def test_stress_page_keeps_layout(artifacts):
    t60 = Structure([Step(f"Plan step {i}: decide what to compute next.", f"What is intermediate quantity number {i}?", str(i * 7)) for i in range(60)], final_answer="413")
    s5 = Structure([Step(t60[i].meta, t60[i].subproblem, t60[i].answer) for i in range(5)], final_answer="28")
    s5.steps[2] = Step("word " * 300, "A" * 3000, "9" * 500)          # very long meta, long unbroken strings
    s5.steps[3].meta = "Z" * 2000
    body = lambda open_steps: (
        render_pair(t60, s5, judge="lexical", title="60-step teacher vs 5-step student, long steps", css=False, open_steps=open_steps)
        + render_pair(Structure(), Structure(), judge="lexical", title="both empty", css=False)
        + render_pair(t60, Structure(warnings=["no GSRM step tags found"]), judge="lexical", title="empty student", css=False))
    img = screenshot(wrap_page(body(True), "stress"), artifacts / "viz_stress_page.png")
    assert img.size == (WIDTH, HEIGHT)
    ink, dark = pixels(img)
    assert ink > 0.05 * WIDTH * HEIGHT and dark > 0.002 * WIDTH * HEIGHT
    assert right_margin_is_clear(img), "long unbroken text overflowed the 1280 px layout"
    # the default (closed) state: the unpaired tail folds, empty structures show placeholders
    img2 = screenshot(wrap_page(body(False), "stress, closed"), artifacts / "viz_stress_closed.png")
    assert right_margin_is_clear(img2) and pixels(img2)[1] > 0.002 * WIDTH * HEIGHT


R1 = ROOT.parent / "shared" / "data" / "r1_traces" / "dev.jsonl"


@pytest.mark.skipif(not R1.exists(), reason="dev data ../shared/data/r1_traces not present")
def test_real_traces_group_page(artifacts):
    """Real R1 traces: one correct trace as the teacher, the other traces of the same problem as raw student completions."""
    import json
    from rlkd_nb.gsrm import get_gsrm
    recs = [json.loads(l) for l in R1.read_text().splitlines() if l.strip()]
    by = {}
    for r in recs: by.setdefault(r["problem"], []).append(r)
    groups = [v for v in by.values() if len(v) >= 4][:2]
    g = get_gsrm("heuristic")
    page_recs = []
    for v in groups:
        v = sorted(v, key=lambda r: not r["id"].endswith(".correct"))
        page_recs.append({"problem": v[0]["problem"], "teacher_structure": g.extract(v[0]["problem"], v[0]["trace"]).to_dict(),
                          "students": [r["trace"] for r in v[1:]], "labels": ["-".join(r["id"].split(".")[1].split("-")[-2:]) + (" ✓" if r["id"].endswith(".correct") else " ✗") for r in v[1:]],
                          "accuracy": [float(r["id"].endswith(".correct")) for r in v[1:]]})
    html = render_page(page_recs, title="R1 traces: teacher path and sample branches", judge="lexical", open_first=True)
    img = screenshot(html, artifacts / "viz_r1_traces.png")
    ink, dark = pixels(img)
    assert ink > 0.05 * WIDTH * HEIGHT and dark > 0.002 * WIDTH * HEIGHT and right_margin_is_clear(img)


def _eight_samples():
    "A group of 8 samples of Janet's ducks: two follow the teacher, the others branch at steps 1, 2, 3 and 4; long labels."
    T = Structure([Step("Count the eggs laid each day first.", "How many eggs does Janet get per day?", "16"),
                   Step("Then take away what she eats and bakes.", "How many eggs are left to sell?", "9"),
                   Step("Each egg sells for $2.", "How much does she earn at the market?", "18"),
                   Step("Check it.", "Is 18 consistent with 16 - 3 - 4 = 9 eggs at $2?", "yes")], final_answer="18")
    def alt(base, k, meta, q, a):
        s = Structure([Step(x.meta, x.subproblem, x.answer) for x in base.steps]); s.steps[k] = Step(meta, q, a); return s
    value_all = alt(T, 1, "Price all eggs first.", "What are all 16 eggs worth?", "32")
    samples = [T, T, value_all, alt(value_all, 2, "Subtract the kept eggs' value.", "What are the 7 kept eggs worth?", "14"),
               alt(T, 2, "Guess.", "What is 9 times 3?", "27"), Structure(T.steps[:2]),
               alt(T, 0, "Start from the money.", "How much money is made per egg?", "2"),
               alt(T, 3, "Check by another route.", "Is 32 - 14 = 18?", "yes")]
    labels = ["follows the plan", "follows the plan as well (a second sample with the same choices)", "values all the eggs first",
              "values all the eggs, then the kept eggs", "guesses 9 × 3 at step 3", "stops after step 2",
              "starts from the money made per egg", "checks the result another way"]
    return T, samples, labels


def test_tree_of_eight_samples_shows_full_labels_without_overlap(artifacts):
    """The prefix tree of 8 samples with branch points at several steps, laid out by a real browser: every sample's
    label is written in full inside the drawing, and no two texts of the drawing overlap (boxes from the DOM)."""
    T, samples, labels = _eight_samples()
    tree = prefix_tree(T, samples, judge="exact", labels=labels)
    assert branch_stats(tree)["branch_points"] >= 3
    html = wrap_page(render_group(T, samples, judge="exact", labels=labels, problem="Janet's ducks lay 16 eggs per day.", tree=tree), "tree of 8")
    (drawing,) = text_boxes(html, artifacts / "viz_tree_8_samples.html")
    texts = drawing["texts"]
    shown = [t["text"] for t in texts if t["cls"] == "rk-label"]
    expected = [", ".join(labels[j] for j in ends) for _, _, ends, _ in tree_layout(tree)[1] if ends]
    assert shown == expected and sum(len(t) for t in shown) == sum(len(l) for l in labels) + 2 * (len(labels) - len(shown))   # nothing cut
    sl, st_, sr, sb = drawing["svg"]
    cl, ct, cr, cb = drawing["box"]
    for t in texts:                                            # inside the drawing, and inside what its container shows
        l, tp, r, b = t["box"]
        assert sl - 0.5 <= l and r <= sr + 0.5 and st_ - 0.5 <= tp and b <= sb + 0.5, t
        assert r <= cr + 0.5 and b <= cb + 0.5, t
    overlaps = [(a["text"], b["text"]) for i, a in enumerate(texts) for b in texts[i + 1:]
                if min(a["box"][2], b["box"][2]) - max(a["box"][0], b["box"][0]) > 0.5
                and min(a["box"][3], b["box"][3]) - max(a["box"][1], b["box"][1]) > 0.5]
    assert not overlaps, overlaps
    assert len(texts) > len(tree.nodes()) + len(shown)         # counts, ids, labels and the axis were all measured
    img = screenshot(html, artifacts / "viz_tree_8_samples.png", height=1400)
    assert pixels(img)[1] > 0.002 * WIDTH * 1400 and right_margin_is_clear(img)
