"""Heuristic GSRM on 37 real R1-distill traces (dev data; prints one JSON object).

Every trace should give >= 3 steps, each with a non-empty meta, sub-problem and answer; for traces whose id
says `.correct`, the structure's final answer should equal the gold answer under math-verify (the last step may be a
check, answered yes/no)."""
import argparse, collections, json, os, statistics
from pathlib import Path
from math_verify import parse, verify
from rlkd_nb.gsrm import HeuristicGSRM

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RLKD_DEV_DATA", ROOT.parent / "shared" / "data")) / "r1_traces" / "dev.jsonl"

def same_answer(gold: str, got: str) -> bool:
    "math-verify equivalence of two LaTeX/plain answers (wrapped in $...$ so bare LaTeX parses)."
    try: return bool(verify(parse(f"${gold}$"), parse(f"${got}$")))
    except Exception: return False

def quality(path=DATA, show=False) -> dict:
    g = HeuristicGSRM()
    rows = [json.loads(l) for l in open(path, encoding="utf-8")]
    counts, lens, per = [], [], []
    all_fields = min_ok = 0
    n_correct = last_ok = 0
    for r in rows:
        st = g.extract(r["problem"], r["trace"])
        counts.append(len(st))
        lens.append(len(r["trace"]))
        full = all(s.meta.strip() and s.subproblem.strip() and s.answer.strip() for s in st)
        all_fields += full; min_ok += len(st) >= 3
        rec = {"id": r["id"], "chars": len(r["trace"]), "steps": len(st), "final_answer": st.final_or_last_answer(), "gold": r["answer"]}
        if r["id"].endswith(".correct"):
            n_correct += 1
            ok = len(st) > 0 and same_answer(r["answer"], st.final_or_last_answer())
            last_ok += ok; rec["final_equals_gold"] = ok
        per.append(rec)
    hist = collections.Counter(counts)
    out = {"traces": len(rows), "traces_with_at_least_3_steps": min_ok, "traces_with_all_fields_nonempty": all_fields,
           "correct_traces": n_correct, "correct_final_answer_equals_gold": last_ok / max(n_correct, 1),
           "steps": {"min": min(counts), "median": statistics.median(counts), "mean": round(statistics.mean(counts), 2), "max": max(counts),
                     "histogram": {str(k): hist[k] for k in sorted(hist)}},
           "chars_per_step_median": statistics.median(l / max(c, 1) for l, c in zip(lens, counts))}
    if show: out["per_trace"] = per
    return out

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(DATA)); ap.add_argument("--show", action="store_true")
    a = ap.parse_args()
    print(json.dumps(quality(a.data, a.show), indent=1))
