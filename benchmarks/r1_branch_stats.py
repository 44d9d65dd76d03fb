"""Branch statistics of the teacher's own branching: the 37 R1-distill dev traces grouped by problem (prints one JSON object).

Each problem has up to 4 traces (two models, correct and incorrect). Every trace is extracted with the heuristic GSRM and
the traces of one problem form a group, drawn as a prefix tree (`rlkd_nb.viz.prefix_tree`) in two ways:
- `no_trunk`: all traces as samples, no teacher (how varied are the sub-problem choices at each step?);
- `first_correct_as_teacher`: the first correct trace as the teacher, the others as samples (how long do they follow it?).
For each judge: per-problem `branch_stats` and their mean (`mean_branch_stats`), and the CPU time taken (process_time).
Usage: python benchmarks/r1_branch_stats.py [--data PATH] [--judges default,lexical,exact] [--out FILE]"""
import argparse, json, re, time
from collections import defaultdict
from pathlib import Path

from rlkd_nb.gsrm import get_gsrm
from rlkd_nb.viz import prefix_tree, branch_stats, mean_branch_stats

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "r1_traces" / "dev.jsonl"
SHOW = 8   # steps shown per problem


def groups(path: Path) -> list[tuple[str, list[dict]]]:
    "The traces grouped by problem, in file order."
    by = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip(): r = json.loads(line); by[r["problem"]].append(r)
    return list(by.items())


def short(b: dict) -> dict:
    "A per-problem summary: the first SHOW steps and the scalars."
    r = lambda x: None if x is None else round(x, 3)
    return {"traces": b["n_samples"], "teacher_steps": b["n_teacher"], "choices": b["choices"][:SHOW],
            "entropy": [r(e) for e in b["entropy"][:SHOW]], "on_teacher": [r(x) for x in b["on_teacher"][:SHOW]],
            "branch_points": b["branch_points"], "paths": b["paths"], "mean_entropy": r(b["mean_entropy"]),
            "teacher_steps_followed": r(b["teacher_steps_followed"])}


def run(path: Path, judges: list[str]) -> dict:
    gsrm = get_gsrm("heuristic")
    t0 = time.process_time()
    probs = [(p, v, [gsrm.extract(p, r["trace"]) for r in v]) for p, v in groups(path)]
    out = {"data": str(path), "traces": sum(len(v) for _, v, _ in probs), "problems": len(probs),
           "steps_per_trace": [len(s) for *_, ss in probs for s in ss], "extract_cpu_s": round(time.process_time() - t0, 2), "judges": {}}
    for judge in judges:
        t0, res = time.process_time(), {}
        for view in ("no_trunk", "first_correct_as_teacher"):
            stats, per = [], {}
            for p, v, ss in probs:
                ids = [r["id"] for r in v]
                if view == "no_trunk": teacher, samples, labels = None, ss, ids
                else:
                    t = next((i for i, x in enumerate(ids) if x.endswith(".correct")), None)
                    if t is None or len(ss) < 2: continue
                    teacher, samples, labels = ss[t], ss[:t] + ss[t + 1:], ids[:t] + ids[t + 1:]
                b = branch_stats(prefix_tree(teacher, samples, judge=judge, labels=labels))
                stats.append(b); per[ids[0].split(".")[2]] = short(b)
            m = mean_branch_stats(stats)
            res[view] = {"groups": len(stats), "per_problem": per,
                         "mean": {k: ([None if x is None else round(x, 3) for x in v[:SHOW]] if isinstance(v, list) else (None if v is None else round(v, 3)))
                                  for k, v in m.items()}}
        res["cpu_s"] = round(time.process_time() - t0, 2)
        out["judges"][judge] = res
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--judges", default="default,lexical,exact")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    a = ap.parse_args()
    if not a.data.exists(): raise SystemExit(f"r1_branch_stats: no dev data at {a.data} (pass --data)")
    res = run(a.data, a.judges.split(","))
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", json.dumps(res, indent=1, ensure_ascii=False))   # lists of numbers on one line
    print(text)
    if a.out: a.out.write_text(text + "\n")
