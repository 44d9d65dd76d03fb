"""Heuristic GSRM vs GSM8K's human Socratic decomposition (dev data; prints one JSON object).

For each problem of /work/shared/data/gsm8k/socratic_dev.jsonl, extract a structure from the *plain* GSM8K
solution of the same question (test.jsonl, matched by question text) and compare it with the Socratic
decomposition (`rlkd_nb.data.parse_socratic`): equal step counts per problem, and per step whether the last number
of the extracted answer equals the last number of the Socratic step's answer (steps paired by position)."""
import argparse, json, os, sys
from pathlib import Path
from rlkd_nb.core import last_number
from rlkd_nb.data import parse_socratic
from rlkd_nb.gsrm import HeuristicGSRM

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RLKD_DEV_DATA", ROOT.parent / "shared" / "data")) / "gsm8k"

def agreement(data_dir=DATA, limit=None, examples=0) -> dict:
    plain = {}
    for line in open(Path(data_dir) / "test.jsonl", encoding="utf-8"):
        r = json.loads(line); plain[r["question"]] = r["answer"]
    g = HeuristicGSRM()
    n = same_count = steps = steps_ok = unmatched = 0
    bad = []
    for line in open(Path(data_dir) / "socratic_dev.jsonl", encoding="utf-8"):
        if limit and n >= limit: break
        r = json.loads(line)
        sol = plain.get(r["question"])
        if sol is None: unmatched += 1; continue
        n += 1
        ref, got = parse_socratic(r["answer"]), g.extract(r["question"], sol)
        same_count += len(ref) == len(got)
        for a, b in zip(ref, got):
            steps += 1
            ok = last_number(a.answer) == last_number(b.answer)
            steps_ok += ok
            if not ok and len(bad) < examples: bad.append({"socratic": a.answer, "extracted": b.answer, "subproblem": b.subproblem})
    out = {"problems": n, "unmatched_questions": unmatched, "step_count_equal": same_count / max(n, 1),
           "steps_compared": steps, "answer_last_number_equal": steps_ok / max(steps, 1)}
    if examples: out["mismatch_examples"] = bad
    return out

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(DATA)); ap.add_argument("--limit", type=int); ap.add_argument("--examples", type=int, default=0)
    a = ap.parse_args()
    print(json.dumps(agreement(a.data, a.limit, a.examples), indent=1))
