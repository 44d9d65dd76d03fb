"""Every output of the heuristic GSRM on a fixed corpus, one line each, to check that a speed change alters none (dev data).

Corpus: the 37 R1 dev traces (the 4 extra reference traces of gsrm_reference.py are among them), the 660 GSM8K
Socratic problems (plain solution and Socratic text), 600 nano traces (300 problems of every template, both plans),
250 built-in records, 2,000 cases of benchmarks/gsrm_fuzz.py (bare and in think tags) and 1,000 random trace-like
texts; the non-fuzz ones in the modes auto, lines and trace. Each line: key, tab, `Structure.to_dict()` as JSON
with sorted keys. Usage: run it before and after a change and compare the files byte for byte:
    python benchmarks/gsrm_same_outputs.py /tmp/before.jsonl   # ... change ...
    python benchmarks/gsrm_same_outputs.py /tmp/after.jsonl && cmp /tmp/before.jsonl /tmp/after.jsonl"""
import json, os, random, sys, importlib.util
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from rlkd_nb.gsrm import HeuristicGSRM
from rlkd_nb import nano
from rlkd_nb.data import load_builtin
D = Path(os.environ.get("RLKD_DEV_DATA", ROOT.parent / "shared" / "data"))

def corpus():
    for l in open(D / "r1_traces/dev.jsonl"):
        r = json.loads(l); yield "r1:" + r["id"], r["problem"], r["trace"]
    # the 4 extra reference traces of benchmarks/gsrm_reference.py are dev traces (joined by id): covered above
    plain = {}
    for l in open(D / "gsm8k/test.jsonl"):
        r = json.loads(l); plain[r["question"]] = r["answer"]
    for i, l in enumerate(open(D / "gsm8k/socratic_dev.jsonl")):
        r = json.loads(l)
        if r["question"] in plain: yield f"gsm:{i}", r["question"], plain[r["question"]]
        yield f"gsmsoc:{i}", r["question"], r["answer"]
    r = random.Random(0)
    probs = nano.nano_problems(300, 0, nano.PLAN_TEMPLATES + nano.HELDOUT_TEMPLATES + nano.HARD_TEMPLATES)
    for i, p in enumerate(probs):
        for pl in sorted(p.plans):
            yield f"nano:{i}:{pl}", p.text, nano.write_trace(p, pl, r)
    for i, rec in enumerate(load_builtin(200, 0) + load_builtin(50, 1)):
        yield f"builtin:{i}", rec["problem"], rec["teacher_trace"]
    spec = importlib.util.spec_from_file_location("gsrm_fuzz", ROOT / "benchmarks" / "gsrm_fuzz.py")
    fz = importlib.util.module_from_spec(spec); spec.loader.exec_module(fz)
    for i, (name, text) in enumerate(fz.cases(2000, max_kb=32, seed=7)):
        yield f"fuzz:{i}:{name}", "p " + text[:200], text
        yield f"fuzzthink:{i}:{name}", "p " + text[:200], "<think>\n" + text + "\n</think>\n\\boxed{1}"
    # the trace-like random text of tests/test_gsrm_fuzz.py, as whole traces
    words = fz.PIECES + ["which", "What is", "how many", "HOW MUCH", "let me", "Let's", "I will", "we can", "i\u00a0need to",
             "to find", "compute", "check", "ı", "ſ", "K", "İ", "ı will", "ı need to", "ı'll", "İ can", "What is the total cost of the pens?",
             "Which number is the largest one?", "how many eggs does Ann sell?", "É", "it's", "that's", "equals", "gives", "sum of",
             "left with", "\\approx", "==", "!=", "<=", "this", "9", "_", "’", "'", ". ", "? ", "! ", "\n", "\r"]
    rr = random.Random(99)
    for i in range(1000):
        t = "".join(rr.choice(words) + rr.choice(["", " ", " "]) for _ in range(rr.randrange(1, 400)))
        if rr.random() < 0.2: t = t.upper()
        yield f"words:{i}", "p " + t[:100], t

if __name__ == "__main__":
    g = HeuristicGSRM(); gl = HeuristicGSRM(mode="lines"); gt = HeuristicGSRM(mode="trace")
    n = 0
    with open(sys.argv[1], "w") as f:
        for key, p, t in corpus():
            for tag, gg in (("auto", g), ("lines", gl), ("trace", gt)) if not key.startswith(("fuzz", "words")) else (("auto", g),):
                f.write(key + "|" + tag + "\t" + json.dumps(gg.extract(p, t).to_dict(), sort_keys=True, ensure_ascii=False) + "\n"); n += 1
    print(n, "outputs")
