"""The heuristic GSRM on adversarial input: time linear in the input (CPU time per KB, and growth with size), bounded fields.

The generators live in benchmarks/gsrm_fuzz.py, which reports the worst time per KB over 10,000 cases; here a few
thousand cases run in a few seconds. CPU time (`time.process_time`) is used, so a busy machine does not fail the test;
the bounds are ~25x above the measured worst case, far below what a quadratic path costs (the old calculation regex
took 28 s per KB on a 2 KB run of '1,')."""
import importlib.util, json, os, random, time
from pathlib import Path
import pytest
from rlkd_nb.gsrm import HeuristicGSRM, MAX_FIELD

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("gsrm_fuzz", ROOT / "benchmarks" / "gsrm_fuzz.py")
fuzz = importlib.util.module_from_spec(spec); spec.loader.exec_module(fuzz)

N_CASES = int(os.environ.get("RLKD_FUZZ_CASES", "2000"))
MS_PER_KB = 50.0     # measured worst: ~2 ms per KB (10,000 cases, benchmarks/results/gsrm_fuzz.json)

def test_generated_cases_stay_linear_and_bounded():
    g, worst = HeuristicGSRM(), (0.0, None)
    for i, (name, text) in enumerate(fuzz.cases(N_CASES, max_kb=32, seed=7)):
        ms = 1000 * fuzz.time_case(g, text) / max(len(text.encode()) / 1024, 1.0)   # time_case also checks the field bounds
        worst = max(worst, (ms, name))
    assert worst[0] < MS_PER_KB, worst

@pytest.mark.parametrize("name", sorted(fuzz.GENERATORS))
def test_time_grows_linearly_with_size(name):
    "Eight times the input costs about eight times the CPU (a quadratic path would cost ~64 times)."
    g, gen = HeuristicGSRM(), fuzz.GENERATORS[name]
    small, large = (min(fuzz.time_case(g, gen(random.Random(3), kb * 1024)) for _ in range(3)) for kb in (16, 128))
    assert large < 24 * max(small, 2e-3), (name, small, large)

@pytest.mark.parametrize("text", [
    "1," * 1000,                                                     # 57 s before (cubic calculation regex)
    "The values are " + ", ".join(map(str, range(3001))) + ".",      # 29 s before
    "[Answer" + " " * 100_000,
    "So the answer is " + "9" * 50_000,
])
def test_issue_cases_are_fast(text):
    t0 = time.process_time()
    HeuristicGSRM().extract("p", text)
    assert time.process_time() - t0 < 1.0

def test_fields_are_bounded_whatever_the_input():
    "A 5 MB trace without spaces used to become a 15 MB output (meta and sub-problem each a full copy)."
    st = HeuristicGSRM().extract("p", "x=1" + "a" * 5_000_000)
    out = st.to_json()
    assert len(out) < 5_000 and all(len(s.meta) <= MAX_FIELD + 1 and len(s.subproblem) <= 221 and len(s.answer) <= 121 for s in st)
    lines = "\n".join(f"Step {i}: {i} + 1 = {i + 1} and then the total is {i + 1}." for i in range(20_000))
    assert len(HeuristicGSRM().extract("p", lines)) <= 20                                  # a trace: at most 20 steps
    assert len(HeuristicGSRM(mode="lines").extract("p", lines)) <= 40                       # line mode: at most 40

# The fast paths of the trace reader against the plain versions they replace (same output on random trace-like text).
import re
from rlkd_nb import gsrm as G

WORDS = fuzz.PIECES + ["which", "What is", "how many", "HOW MUCH", "let me", "Let's", "I will", "we can", "i\u00a0need to",
                                     "to find", "compute", "check", "ı", "ſ", "K", "İ", "ı will", "ı need to", "ı'll", "İ can", "What is the total cost of the pens?", "Which number is the largest one?", "how many eggs does Ann sell?", "É", "it's", "that's", "equals", "gives", "sum of",
                                     "left with", "\\approx", "==", "!=", "<=", "this", "9", "_", "’", "'", ". ", "? ", "! ", "\n", "\r"]

def _text(r: random.Random, n: int) -> str:
    t = "".join(r.choice(WORDS) + r.choice(["", " ", " "]) for _ in range(n))
    return t.upper() if r.random() < 0.2 else t

def _plain_sentences(text, s, e, k=12):
    "The sentence chain as it was first written: `_sentence_at` from each position."
    pos, out = s, []
    for _ in range(k):
        if pos >= e: break
        st, en = G._sentence_at(text, pos, s, e)
        out.append((max(st, pos), en)); pos = en + 1
    return out

def test_results_at_equals_results():
    r = random.Random(11)
    for _ in range(3000):
        low = G._lower(_text(r, r.randrange(1, 40)))
        starts, s = G._result_starts(low), r.randrange(len(low) + 1)
        e = r.randrange(s, len(low) + 1)
        assert G._results_at(low, starts, s, e) == G._results(low, s, e), (low, s, e)

def test_sentences_equal_the_plain_chain():
    r = random.Random(12)
    for _ in range(3000):
        t = _text(r, r.randrange(1, 60))
        s = r.randrange(len(t) + 1); e = r.randrange(s, len(t) + 1)
        assert G._sentences(t, s, e) == _plain_sentences(t, s, e), (t, s, e)
    long = "word " * 200 + "end. " + "x" * 700
    assert G._sentences(long, 0, len(long)) == _plain_sentences(long, 0, len(long))     # 300-character cuts
    marks = ["a", " ", ".", "?", "!", "\n", ". ", "? ", "! ", "?!", "!?", "x" * 50, "y" * 297, "é", "\u2019"]    # marks found once, cuts at a mark
    for _ in range(20000):
        t = "".join(r.choice(marks) for _ in range(r.randrange(0, 30)))
        s = r.randrange(len(t) + 1); e = r.randrange(s, len(t) + 1)
        assert G._sentences(t, s, e) == _plain_sentences(t, s, e) and G._sentences(t, s, e, 40) == _plain_sentences(t, s, e, 40), (t, s, e)

def test_quick_word_tests_never_skip_a_match(monkeypatch):
    "A sentence `_nearest` skips for lack of a word (`_HINTS`) is one its function finds nothing in: without the hints, every result is the same."
    r = random.Random(13)
    cases = []
    for _ in range(1500):
        t = _text(r, r.randrange(1, 30)); low = G._lower(t)
        cases.append((t, low, G._window(t, low, 0, len(t))))
    fns = (G._goal, G._plan, G._vp_question, G._asked)
    fast = [[G._nearest(t, low, 0, len(t), f, sents=w) for f in fns] for t, low, w in cases]
    monkeypatch.setattr(G, "_HINTS", {})
    assert fast == [[G._nearest(t, low, 0, len(t), f, sents=w) for f in fns] for t, low, w in cases]
    assert sum(x is not None for row in fast for x in row) > 300       # the cases do contain goals, plans and questions

R1 = Path(os.environ.get("RLKD_DEV_DATA", ROOT.parent / "shared" / "data")) / "r1_traces" / "dev.jsonl"

def _real_windows():
    "The lowered R1 dev traces and the sentences of their 1500-character windows (none if the dev data is absent)."
    import json
    if not R1.exists(): return []
    out = []
    for l in open(R1, encoding="utf-8"):
        t = json.loads(l)["trace"]; low = G._lower(t)
        out += [(low, st, en) for e in range(1500, len(t), 700) for st, en in G._window(t, low, 0, e)]
    return out

def test_goal_hint_from_rarer_letters_finds_every_goal_word():
    "`_GOAL_HINT` (each word found from a rarer letter, the letters before it by a lookbehind) matches in every span where the plain `_GOAL_WORDS` does."
    words = G._GOAL_WORDS.pattern.split("|")
    bits = words + [w[:k] for w in words for k in range(1, len(w))] + [w[k:] for w in words for k in range(1, len(w))] + ["double-check", "recompute", "re", "x", " ", ".", "\n"]
    r, n = random.Random(16), 0
    for _ in range(30000):
        low = "".join(r.choice(words if r.random() < 0.2 else bits) for _ in range(r.randrange(1, 8)))
        st = r.randrange(len(low) + 1); en = r.randrange(st, len(low) + 1)
        if G._GOAL_WORDS.search(low, st, en): n += 1; assert G._GOAL_HINT.search(low, st, en), (low, st, en)
    assert n > 2500      # the generated spans alone (2,829 hold a goal word); the real windows below need the dev data
    for low, st, en in _real_windows():
        if G._GOAL_WORDS.search(low, st, en): assert G._GOAL_HINT.search(low, st, en), low[st:en]

def test_filler_from_rarer_letters_equals_the_plain_pattern():
    "`_filler` (each phrase matched from its rarest letter, its word start in the lookbehind) against `_FILLER_PLAN_RE` on every phrase it expands to, cut, joined and with any neighbour."
    import itertools
    phrases = ["step by step", "this problem", "the problem", "solve this", "tackle this", "make sense", "be careful", "the basic concepts"]
    phrases += [f"{a} {b}" for a in ("this", "it", "things") for b in ("out", "down", "through")]
    phrases += [f"how to {b}" for b in ("approach", "solve", "tackle", "start")] + [f"{a} {b}" for a in ("approach", "think about") for b in ("this", "it")]
    phrases += [f"{a} {b} {c}" for a, b, c in itertools.product(("understand",), ("the", "this"), ("problem", "question"))]
    phrases += [f"{a} {b} {c}" for a, b, c in itertools.product(("has", "have"), ("this", "a"), ("problem", "question"))]
    bits = phrases + [p[:k] for p in phrases for k in range(1, len(p))] + [p[k:] for p in phrases for k in range(1, len(p))] + ["x", "_", "9", " ", ".", "'", "é"]
    for p in phrases:
        for a in ["", " ", "x", "_", "9", "'", "-", "é", "(", "an"]:
            for b in ["", " ", "x", "s", "_", "9", "'", ".", "é"]:
                for t in (a + p + b, (a + p + b).upper(), a + p.title() + b):
                    assert G._filler(t) == (G._FILLER_PLAN_RE.search(t) is not None), t
    r, n = random.Random(19), 0
    for _ in range(30000):
        t = "".join(r.choice(phrases if r.random() < 0.2 else bits) for _ in range(r.randrange(1, 6)))
        n += (f := G._filler(t)); assert f == (G._FILLER_PLAN_RE.search(t) is not None), t
    assert n > 3000

def test_nearest_equals_the_forward_reading():
    "Reading the sentences backwards and stopping at the first answer gives the last answer of the forward reading."
    r = random.Random(14)
    for _ in range(500):
        t = _text(r, r.randrange(5, 80)); low = G._lower(t)
        s = r.randrange(len(t)); e = r.randrange(s, len(t) + 1); skip = r.choice(["", "9", "is"])
        for fn in (G._goal, G._plan, G._vp_question, G._asked):
            best = None
            for st, en in _plain_sentences(t, max(s, e - 1500), e):
                if skip and skip in t[st:en]: continue
                best = fn(t[st:en], low[st:en]) or best
            assert G._nearest(t, low, s, e, fn, skip) == best

def test_replace_value_equals_the_regex():
    r = random.Random(15)
    chars = list("12.3a_’' xé٣,")
    for _ in range(20000):
        s = "".join(r.choice(chars) for _ in range(r.randrange(0, 24))); v = "".join(r.choice(chars) for _ in range(r.randrange(1, 4)))
        assert G._replace_value(s, v, "it") == re.sub(rf"(?<![\w.]){re.escape(v)}(?![\w.'’])", "it", s), (s, v)

def _plain_merge(groups, cap):
    "`_merge` as first written: every step's key recomputed before each merge."
    gs = []
    for g in groups:
        if gs and g.kind == "check" and gs[-1].kind == "check" and not g.new: gs[-1].absorb(g)
        else: gs.append(g)
    if len(gs) > 4 * cap:
        out = [gs[0]]
        for g in gs[1:]:
            if G._RANK.get(g.kind, 0): out.append(g)
            else: out[-1].absorb(g)
        gs = out
        if len(gs) > 4 * cap:
            k = -(-len(gs) // (4 * cap))
            for i in range(0, len(gs), k):
                for g in gs[i + 1:i + k]: gs[i].absorb(g)
            gs = gs[::k]
    last_check = max((j for j, g in enumerate(gs) if g.kind == "check"), default=-1)
    while len(gs) > cap:
        i = min(range(1, len(gs)), key=lambda j: (G._RANK.get(gs[j].kind, 0) + (j == last_check), gs[j].e - gs[j].s))
        if i < last_check: last_check -= 1
        elif i == last_check: last_check = -1
        gs[i - 1].absorb(gs[i]); del gs[i]
    return gs

def test_merge_equals_the_plain_merge():
    r = random.Random(16)
    kinds = [None, "plan", "head", "alt", "check", "doubt", "concl"]
    for _ in range(500):
        n, pos, lines = r.randrange(1, 60), 0, []
        for _ in range(n):
            ln, vals = r.randrange(1, 300), r.choice([(), [], ["1"], ["2", "3"]])
            lines.append(G._Line(pos, pos + ln, r.choice(kinds), vals, vals[:r.randrange(len(vals) + 1)])); pos += ln + 1
        cap = r.randrange(1, 20)
        key = lambda gs: [(g.s, g.e, g.kind, g.new, g.has_result, [id(ln) for ln in g.lines]) for g in gs]
        assert key(G._merge([G._Group(l) for l in lines], cap)) == key(_plain_merge([G._Group(l) for l in lines], cap))

def _plain_group(lines):
    "`_group` as first written: `_Group.add` for each line that joins the step."
    groups, g = [], None
    for ln in lines:
        if g is None: g = G._Group(ln); groups.append(g); continue
        cue = ln.cue
        if cue == "sub": g.add(ln); continue
        opens = cue in G._BOUNDARY and (g.has_result or g.kind in ("check", "alt") or (cue != "doubt" and ln.s - g.s >= G.MIN_STEP))
        if opens or (ln.new and g.new): g = G._Group(ln); groups.append(g)
        else: g.add(ln)
    return groups

def test_group_equals_the_plain_group():
    "The step grouping with `_Group.add` inlined, on random lines (values as `_lines` gives them: none as (), new ones a part of them)."
    r = random.Random(25)
    kinds = [None, "plan", "head", "alt", "check", "doubt", "concl", "sub"]
    key = lambda gs: [(g.s, g.e, g.kind, g.new, g.has_result, [id(ln) for ln in g.lines]) for g in gs]
    for _ in range(3000):
        pos, lines = 0, []
        for _ in range(r.randrange(0, 40)):
            n = r.randrange(1, 400); vals = r.choice([(), [], ["1"], ["2", "3"], ["4", "4"]])
            lines.append(G._Line(pos, pos + n, r.choice(kinds), vals, [v for v in vals if r.random() < 0.5] if vals else ())); pos += n + 1
        assert key(G._group(lines)) == key(_plain_group(lines))

def _plain_cue(low, s=0):
    "`_cue` as first written: list marks, then a cue, else a heading, in three matches."
    m = G._LEAD_MARK_RE.match(low, s)
    c = G._CUE_RE.match(low, m.end() if m else s)
    return c.lastgroup if c else ("head" if G._HEAD_RE.match(low, s) else None)

def _cue_of(low, ln):
    "The cue of a line of `_lines`, read as `_group` reads it (True: not read yet)."
    return G._line_cue(low, ln.s, ln.e) if ln.cue is True else ln.cue

def _plain_lines(text, low, given=frozenset()):
    "`_lines` as first written: one `_results_at` call per line."
    seen, out, starts = set(given), [], G._result_starts(low)
    for m in re.finditer(r"[^\n]+", text):
        line = m.group(); body = line.lstrip(" \t")
        s = m.start() + len(line) - len(body); e = s + len(body.rstrip(" \t\r"))
        if s >= e: continue
        res = G._results_at(low, starts, s, e)
        vals = [v for *_, v, eq in res if eq or v not in given] if res else []
        new = [v for v in vals if v not in seen]; seen.update(vals)
        out.append((s, e, "sub" if (s - m.start() >= 2 and out) else _plain_cue(low, s), vals, new, res))
    return out

LINE_HEADS = ["", "  ", "\t", "** ", "## ", "- ", "• ", "1. ", "(2) ", "okay, ", "so ", "**tens place:** ", "step 3: ", "Step 3: ", "2. **Part:** "]

def test_group_reads_cues_only_where_needed():
    "`_group` on the lines of `_lines` (cues not read yet) equals the plain grouping on the lines with every cue read by the plain match."
    r, n = random.Random(31), 0
    cue_heads = LINE_HEADS + ["wait, ", "but wait, ", "alternatively, ", "let me check ", "first, ", "now ", "therefore ", "hmm, ", "Wait ", "x = 4. "]
    texts = ["\n".join(r.choice(cue_heads) + _text(r, r.randrange(0, 40)) for _ in range(r.randrange(1, 30))) for _ in range(1500)]
    dev = Path(os.environ.get("RLKD_DEV_DATA", ROOT.parent / "shared" / "data")) / "r1_traces" / "dev.jsonl"
    if dev.exists(): texts += [json.loads(l)["trace"] for l in open(dev, encoding="utf-8")]
    key = lambda gs: [(g.s, g.e, g.kind, g.new, g.has_result, [(ln.s, ln.e) for ln in g.lines]) for g in gs]
    for t in texts:
        low = G._lower(t)
        gs = G._group(G._lines(t, low, {"1", "12"}), low)
        assert key(gs) == key(_plain_group([G._Line(*x) for x in _plain_lines(t, low, {"1", "12"})])), t
        n += sum(ln.cue is True for g in gs for ln in g.lines[1:])
    assert n > 1000          # lines whose cue `_group` did not need

def test_one_pass_readers_equal_the_plain_ones():
    "The single-match cue, the inlined line walk, the quick sentence end, deny and heading tests and the verb scan agree with the plain forms."
    r = random.Random(17)
    deny = re.compile(r"\b(?:mistake|wrong|incorrect|not right|doesn't match|discrepancy|contradict)")
    for _ in range(3000):
        t = "\n".join(r.choice(LINE_HEADS) + _text(r, r.randrange(0, 12)) for _ in range(r.randrange(1, 6)))
        t += r.choice(["", " wrong", "xwrong", " mistake.", "_incorrect", "é contradict"]); low = G._lower(t)
        assert [(l.s, l.e, _cue_of(low, l), list(l.vals), list(l.new), list(l.res)) for l in G._lines(t, low, {"1", "12"})] == _plain_lines(t, low, {"1", "12"}), t
        s = r.randrange(len(t) + 1); e = r.randrange(s, len(t) + 1)
        assert G._cue(low, s) == _plain_cue(low, s)
        m1, m2 = G._SENT_END_RE.search(t, s, e), re.compile(r"[.?!] |\n").search(t, s, e)
        assert (m1 and m1.start()) == (m2 and m2.start())
        assert G._denies(low, s, e) == (deny.search(low, s, e) is not None), (low, s, e)
        h = G._HEADING_RE.match(t, s)
        assert G._heading(t, s) == ((h.group("h") or h.group("h2")).strip().lower() if h else None)
        assert [m.span() for m in G._goal_verbs(low)] == [m.span() for m in G._GOAL_VERB_RE.finditer(low)]
        assert (m := G._LEAD_WORDS_RE.match(low)) is None and G._LEAD_WORDS_RE.sub("", low) == low or G._LEAD_WORDS_RE.sub("", low) == low[m.end():]

PHRASES = ["step by step", "this problem", "THE PROBLEM", "it out", "things through", "How to approach", "think about it", "make sense",
           "understand the question", "has a problem", "have this question", "be careful", "the basic concepts", "xit out", "_it out",
           "my work", "the calculations", "The Steps", "everything", "them", "that", "this", "again", "it", "it's", "i'm", "I've", "we're",
           "myself", "our", "us", "me", "My", "ı'm", "İt", "divided by", "over", "times", "multiplied by", "plus", "minus", "DIVIDED BY",
           "ſtep by ſtep", "K", "i need to", "we should", "I'll", "let us", "to find", "To Compute", "I remember", "we can", "i could"]

def test_quick_scans_of_lowered_ascii_equal_the_plain_patterns():
    "Filler, plan clause, base VP, pronouns, vague end, word operators and odd letters: each quick form agrees with the pattern it stands for."
    r = random.Random(18)
    pron = lambda s: G._PRON_RE.sub(lambda x: G._PRON.get(x.group(0).lower(), "it"), s)
    span = lambda m: m and (m.span(), m.groupdict())
    for _ in range(6000):
        t = "".join(r.choice(PHRASES + WORDS) + r.choice(["", " ", " ", ", ", ". ", "!"]) for _ in range(r.randrange(1, 14)))
        if r.random() < 0.2: t = t.upper()
        assert G._filler(t) == (G._FILLER_PLAN_RE.search(t) is not None), t
        assert span(G._first_match(G._PLAN_CLAUSE_RE, G._PLAN_CLAUSE_QUICK, t)) == span(G._PLAN_CLAUSE_RE.search(t)), t
        assert span(G._first_match(G._BASE_VP_RE, G._BASE_VP_QUICK, t)) == span(G._BASE_VP_RE.search(t)), t
        assert G._pronouns_out(t) == pron(t), t
        assert span(G._vague_end(t)) == span(G._VAGUE_END_RE.search(t)), t
        plain = t
        for pat, o in G._WORD_OPS: plain = pat.sub(o, plain)
        assert G._word_ops(t) == plain, t
        s = r.randrange(len(t) + 1); e = r.randrange(s, len(t) + 1)
        assert G._window(t, G._lower(t), s, e).odd == (not t[max(s, e - 1500):e].isascii() and G._ODD_CASE_RE.search(t, max(s, e - 1500), e) is not None)
    openers = ["let me", "Let's", "let us", "I'll", "i will", "I need to", "i have to", "I can", "i should", "I want to", "I could", "We'll", "we will",
               "We need to", "we can", "we should", "I must", "I am going to", "we are going to", "I might", "we may", "I remember", "we notice", "to find"]
    for o in openers:       # every way the two patterns open, once each
        for t in (f"So {o} factor out 2 from each term.", f"so{o} factor out 2.", f"{o.upper()} COMPUTE THE SUM OF ALL TERMS"):
            assert span(G._first_match(G._PLAN_CLAUSE_RE, G._PLAN_CLAUSE_QUICK, t)) == span(G._PLAN_CLAUSE_RE.search(t)), t
            assert span(G._first_match(G._BASE_VP_RE, G._BASE_VP_QUICK, t)) == span(G._BASE_VP_RE.search(t)), t

def _plain_plan(t):
    "`_plan_match`'s answer read off the plain pattern: (start, aux, let, v, rest), the three words lower-cased."
    m = G._PLAN_CLAUSE_RE.search(t)
    return m and (m.start(), *(m.group(k) and m.group(k).lower() for k in ("aux", "let", "v")), m.group("rest"))

def test_plan_head_and_rest_run_equal_the_plain_pattern():
    "`_plan_match` (the head, its rest only looked at, then the rest's run read after) finds what `_PLAN_CLAUSE_RE` finds, with the same groups."
    r = random.Random(23)
    rest = ["x", "ab", "9", "1.5", "3!", "(2)!", "x!", "! ", ".", ". ", "..", "?", ";", ":", "\n", "=", " ", "  ", "\t", "\u00a0", "\u2003", "é", "٣",
            ".٣", "word " * 30, "I", "We", "i", "let me", "LET'S", "to find", "to\tcheck", "I\u00a0will", "we  can", "ı will", "İ can", "K", "'", "x'"]
    for _ in range(20000):
        t = "".join(r.choice(PHRASES + rest) + r.choice(["", " ", " ", "  "]) for _ in range(r.randrange(1, 16)))
        if r.random() < 0.2: t = t.upper()
        assert G._plan_match(t) == G._plan_match(t, G._lower(t)) == _plain_plan(t), t
    for t in ("let me " + "x" * 300, "let me " + "x" * 199 + ".5", "let me " + "x" * 199 + ". 5", "let me ab.", "let me abc.", "I will  ab", "I will 3!x"):
        assert G._plan_match(t) == _plain_plan(t), t

def _plain_vp_question(sent):
    "`_vp_question` as first written: the case-ignoring pattern on the sentence, the object cut and its tail word by their patterns."
    m = G._BASE_VP_RE.search(sent[:400])
    if not m or m.group("v").lower() in ("think", "see", "be", "make", "try", "start", "go", "do", "check", "verify", "double", "recall", "remember"): return None
    rest = G._OBJ_TAIL_RE.sub("", G._OBJ_CUT_RE.sub("", m.group("rest")).strip().rstrip(".,:;"))
    if len(rest) < 3 or G._VAGUE_RE.match(rest) or G._filler(rest) or G._DANGLING_RE.search(rest): return None
    return f"What do we get when we {m.group('v').lower()} {G._detex(rest)}?"

def test_goal_and_action_readers_equal_the_plain_patterns():
    "The goal's lead-in words (`_goal_pre`), its object's cut and tail word (`_trim_obj`) and the action question on lowered ASCII text agree with the patterns."
    r = random.Random(24)
    pre = ["need to", "needs to", "is to", "into", "let me", "let's", "let us", "i'll", "I will", "i should", "we should", "we can", "i can", "asks",
           "asking", "first", "then", "next", "now", "so", "also", "and", "band", "just", "quickly", "carefully", "again", "x", "9", ",", "(", "é", "ſo"]
    obj = ["x", "the sum", " ", "  ", "\t", "\u00a0", "\n", "=", "\\)", "\\[", "$", "$$", ",", ", so", ", and then", ", I", ", b", ", B", " because", " using",
           " and add", " AND THEN", "; ", ": ", ":", " — ", " -- ", ".", "first", " first", " FIRST", " then", "Then", " too", "xtoo", " also", " alſo",
           " fırst", " now", " here", "K", "é", "٣", "again"]
    for _ in range(20000):
        low = G._lower("".join(r.choice(pre) + r.choice(["", " ", " ", "  ", "\t", "\u00a0", "\n"]) for _ in range(r.randrange(0, 8))))
        i = r.randrange(len(low) + 1)
        assert G._goal_pre(low, i) == (G._GOAL_PRE_RE.search(low, max(0, i - 40), i) is not None), (low, i)
        s = "".join(r.choice(obj) for _ in range(r.randrange(0, 12)))
        if r.random() < 0.2: s = s.upper()
        assert G._trim_obj(s, G._lower(s)) == G._OBJ_TAIL_RE.sub("", G._OBJ_CUT_RE.sub("", s).strip().rstrip(".,:;")), s
        t = "".join(r.choice(PHRASES + obj) + r.choice(["", " ", " ", ", "]) for _ in range(r.randrange(1, 14)))
        if r.random() < 0.2: t = t.upper()
        assert G._vp_question(t, G._lower(t)) == _plain_vp_question(t), t
    for low in (" " * 39, " " * 40, " " * 41, ", so " + " " * 35, "x to" + " " * 38, "x to" + " " * 28 + "just" + " " * 6):   # the 40-character reach
        for i in range(len(low) - 3, len(low) + 1):
            assert G._goal_pre(low, i) == (G._GOAL_PRE_RE.search(low, max(0, i - 40), i) is not None), (low, i)

EXPR_CHARS = list("0123456789 \n\t.+-−*/×÷^()!,\\abXYZ{}=é$;:٣") + ["\u00a0", "\x1c"]
NP_END_WORDS = ["is", "are", "was", "were", "equal", "equals", "come to", "comes to", "would be", "will be", "should be", "must be", "approximately",
                "about", "exactly", "just", "indeed", "then", "now", "still", "simply", ":", "IS", "Is", "is:", "isabout", "the total", "x", "İs"]

def test_one_pass_tails_equal_the_plain_patterns():
    "`_expr_tail` (the calculation before a result) and `_np_end` (the verb ending a noun phrase) find what their patterns' own searches find."
    r = random.Random(19)
    for _ in range(20000):
        seg = "".join(r.choice(EXPR_CHARS) for _ in range(r.randrange(0, 90)))
        assert G._expr_tail(seg) == ((m := G._EXPR_TAIL_RE.search(seg)) and m.group(0)), seg
        h = "".join(r.choice(NP_END_WORDS) + r.choice(["", " ", "  ", "\n", "\t", "\u00a0", "\u2003", "\x85"]) for _ in range(r.randrange(0, 12)))
        m1, m2 = G._np_end(h), G._NP_END_RE.search(h)
        assert (m1 and m1.span()) == (m2 and m2.span()), h
        assert G._third(h.split(" ")[-1] or "y") == _plain_third(h.split(" ")[-1] or "y")
    for seg in ("1," * 40, "(" * 80, "x" * 79 + "1"):
        assert G._expr_tail(seg) == G._EXPR_TAIL_RE.search(seg).group(0)

def _plain_third(verb):
    "`_third` as first written, with its two patterns."
    v = verb.lower()
    if v in ("be", "have", "do", "can", "may", "must"): return {"be": "is", "have": "has", "do": "does"}.get(v, v)
    if re.search(r"(?:s|sh|ch|x|z|o)$", v): return v + "es"
    return v[:-1] + "ies" if re.search(r"[^aeiou]y$", v) else v + "s"

def test_last_box_equals_last_boxed():
    "Reading from the last '\\boxed' (the full reading when that box never closes) gives `last_boxed`'s answer."
    from rlkd_nb.core import last_boxed
    r = random.Random(20)
    pieces = ["\\boxed{", "\\boxed {", "\\fbox{", "\\boxedx{", "{", "}", "\\{", "\\}", "1", "ab", " ", "\\frac{1}{2}"]
    for _ in range(20000):
        s = "".join(r.choice(pieces) for _ in range(r.randrange(0, 16)))
        assert G._last_box(s) == last_boxed(s), s

def test_questions_read_lazily_pick_the_same_question():
    "A step's readers run in order and stop once no later one can give the question it uses: the question, calculation and description stay the same."
    r = random.Random(21)
    n_used = 0
    for _ in range(1500):
        t = "\n".join(r.choice(LINE_HEADS) + _text(r, r.randrange(1, 25)) for _ in range(r.randrange(1, 5))); low = G._lower(t)
        res = G._results(low)
        main = r.choice(res) if res and r.random() < 0.8 else None
        s, e = 0, len(t)
        head = r.choice([None, "tens place"])
        full = G._questions(t, low, s, e, main, head)
        for order in (G._WORK_ORDER, G._CHECK_ORDER):
            lazy = G._questions(t, low, s, e, main, head, order=order)
            pick = lambda qs: next((qs[k] for k in order if k in qs), None)
            assert pick(lazy) == pick(full) and lazy.get("calc") == full.get("calc"), (t, main, order)
            n_used += pick(full) is not None and next(k for k in order if k in full) not in ("np", "calc")
    assert n_used > 100      # the cases reach the readers that can be skipped

def test_object_cut_lookahead_changes_no_cut():
    "`_OBJ_CUT_RE` opens with a lookahead for the characters every cut starts with: it cuts a goal's object exactly where the plain pattern does."
    look = "(?=[\\s=\\\\$,;:])"
    assert G._OBJ_CUT_RE.pattern.startswith(look)
    plain = re.compile(G._OBJ_CUT_RE.pattern[len(look):], G._OBJ_CUT_RE.flags)
    r = random.Random(22)
    pieces = [" ", "=", "\\)", "$", ",", ", so", ", and then", " because", "; ", ": ", " — ", " -- ", "\\[", "$$", "x", "word", "\n", "é", " AND THEN",
              ", I", ", We", "\t", "\u00a0", " using", " first", ", b"]
    for _ in range(20000):
        s = "".join(r.choice(pieces) for _ in range(r.randrange(0, 30)))
        assert G._OBJ_CUT_RE.sub("", s) == plain.sub("", s), s

def _plain_np_question(text, p, s, e):
    "`_np_question` as it was before its early exits: the whole sentence read first, the unit after the value always read."
    st, en = G._sentence_at(text, p, s, e)
    pre = text[st:p]
    k = max(pre.rfind("="), pre.rfind("≈"))
    head = (pre[:k] if k >= 0 else pre).strip()
    if (m := G._LEAD_WORDS_RE.match(head)): head = head[m.end():]
    head = head.strip(" ,:;*$")
    if k >= 0: np = (head[:m.start()] + head[m.end():] if (m := G._np_end(head)) else head).strip(" ,")
    else:
        after = text[p:en].split(" ", 1)[1] if " " in text[p:en] else ""
        unit = G._unit_after(" " + after)
        if G._THERE_RE.match(head): return (f"How many {unit[0]} are there?", f"the number of {unit[0]}") if unit else None
        h = G._HAS_RE.match(head)
        if h and unit and not G._NP_BAD_RE.match(h.group("s").strip()):
            v, subj = h.group("v").lower(), G._low1(h.group("s").strip())
            base = {"has": "have", "had": "have", "contains": "contain", "gets": "get", "got": "get", "takes": "take", "took": "take", "needs": "need"}.get(v, v)
            aux = "did" if v in ("had", "got", "took") else ("do" if subj.endswith("s") and not subj.endswith("ss") else "does")
            return f"How many {unit[0]} {aux} {subj} {base}?", f"the number of {unit[0]} in {subj}"
        m = G._np_end(head)
        if not m: return None
        np = head[:m.start()].strip(" ,")
    np = G._detex(np)
    if G._VAR_RE.fullmatch(np) and np not in ("I", "a"): return f"What is {np}?", np
    if not (3 <= len(np) <= 120) or len(np.split()) > 12 or not G._NP_OK_RE.match(np) or G._NP_BAD_RE.search(G._REL_RE.split(np, 1)[0]) or G._NP_VAGUE_RE.match(np): return None
    return f"What is {G._low1(np)}?", G._low1(np)

def _plain_expr_before(text, at, s=0):
    "`_expr_before` as it was before its early exits (no test for an operator word or sign first)."
    seg = text[max(s, at - 80):at]
    for pat, o in G._WORD_OPS: seg = pat.sub(o, seg)
    tail = G._expr_tail(seg)
    if tail is None: return None
    ex = G._CLAUSE_CUT_RE.split(tail)[-1]
    if not ex.lstrip().startswith("\\"): ex = G._WORDS_RE.sub(" ", ex)
    if "(" in ex: ex = G._PAREN_NUM_RE.sub(lambda m: m.group(1), ex)
    ex = G._DIGITS_GAP_RE.split(G._WS_RE.sub(" ", ex))[-1]
    ex = G._detex(G._NON_EXPR_HEAD_RE.sub("", ex.strip(" ,")).rstrip(" ,="))
    if ex.count("(") + ex.count(")") == 1: ex = ex.strip("()").strip()
    if not (3 <= len(ex) <= 60) or not G._DIGIT_RE.search(ex) or not G._OP_SIGN_RE.search(ex): return None
    return ex

NP_PIECES = ["the total", "The number of eggs", "this sum", "each box", "total cost", "there are", "There were a total of", "Tom has", "the boxes contain",
             "is", "are", "would be", "equals", "=", "≈", "\\(", "\\)", "$", "$$", "\\frac{1}{2}", "\\times", "\\cdot", "so", "Thus,", "which", "it",
             "apples", "fours in the tens place", "5", "12", "3.5", "1,200", "(4)", "+", "-", "*", "/", "x", "÷", "^", "!", "plus", "times", "over",
             "divided by", "minus", "é", ":", ",", ";", ". ", "? ", "\n", "  "]

def test_step_readers_early_exits_change_nothing():
    "The noun-phrase reader that gives up on a head no noun phrase can open, and the calculation reader that stops without an operator, equal the plain ones."
    r = random.Random(23)
    n_np = n_ex = 0
    for _ in range(6000):
        piece = lambda n: "".join(r.choice(NP_PIECES + WORDS) + r.choice(["", " ", " "]) for _ in range(r.randrange(0, n)))
        if r.random() < 0.5:      # a sentence stating a value: '<words> <noun phrase> <verb> <value> <words>'
            t = piece(6) + r.choice(["", "So ", "So, ", "Thus "]) + r.choice(NP_PIECES[:8] + ["it", r"\(x", r"\(the total", r"\( the sum", "$the total", r"the\,total"]) + " " + \
                r.choice(["is", "are", "would be", "=", "≈", "has", "contains", "is about", ":"]) + " "
            p = len(t); t += r.choice(["5", "12", "3.5", "1,200"]) + r.choice(["", " apples", " fours in the tens place", "."]) + piece(6)
        else:
            t = piece(30)
            p = r.choice([m.start() for m in re.finditer(r"\d", t)] or [r.randrange(len(t) + 1)])
        if r.random() < 0.2: t = t.upper()
        s = r.randrange(p + 1); e = r.randrange(p, len(t) + 1)
        a = G._np_question(t, p, s, e)
        assert a == _plain_np_question(t, p, s, e), (t, p, s, e)
        at = r.randrange(len(t) + 1)
        b = G._expr_before(t, at, s)
        assert b == _plain_expr_before(t, at, s), (t, at, s)
        n_np += a is not None; n_ex += b is not None
    assert n_np > 100 and n_ex > 100, (n_np, n_ex)      # the cases reach the questions, not only the early exits

def test_np_question_gives_up_only_where_no_pattern_can_end():
    "Without '=', the noun-phrase reader tries `_THERE_RE`, `_HAS_RE`, `_NP_END_RE` only on a head whose last word (and first, for 'there') fits: each way they end, once."
    ends = [v + sep + a for v in ("is", "are", "was", "were", "equal", "equals", "come to", "comes to", "would be", "will be", "should be", "must be")
            for sep in (" ", "") for a in ("", "approximately", "about", "exactly", "just", "indeed", "then", "now", "still", "simply")]
    ends += ["is a total of", "were a total of", "has", "have", "had", "contain", "contains", "get", "gets", "got", "take", "takes", "took", "need",
             "needs", "İS", "ıs", "haſ", "taKes", "was about:", "gives", "totals", "is 3 +"]
    n = 0
    for subj in ("the total", "There", "Tom", "So, the number of apples", "the boxes"):
        for end in ends:
            for trail in ("", ":", " :", ":\t", " $", "\t$", " :\t$", "*", "\u00a0", ",", " ::"):
                for t in (f"{subj} {end}{trail} 12 apples in the basket.", f"{subj} {end}{trail} 12 apples in the basket.".upper()):
                    p = t.index("12")
                    a = G._np_question(t, p, 0, len(t))
                    assert a == _plain_np_question(t, p, 0, len(t)), t
                    n += a is not None
    assert n > 1000, n

def test_np_question_sentence_start_and_lead_words_as_the_plain_ones():
    "The noun-phrase reader's sentence start (each separator sought only after the last found) and its lead words (matched on lowered ASCII text)."
    r = random.Random(26)
    seps = [". ", "\n", "? ", "! ", "\n? ", "\n! ", ".\n", "?\n", "!. ", "\n\n", ".", "?", " "]
    heads = ["the total is ", "So the total is ", "SO, THUS the number of eggs = ", "Hmmm, well the cost was ", "And then ", "so-so ", "ſo the sum is ",
             "(so) the total is ", "x = ", "Ok: the total is ", "ALSO there are ", "the boxes contain "]
    n = 0
    for _ in range(6000):
        t = "".join(r.choice(seps + heads + ["12", "5 apples", "é", "word"]) for _ in range(r.randrange(1, 16)))
        for p in [m.start() for m in re.finditer(r"\d", t)][:4]:
            s = r.randrange(p + 1)
            a = G._np_question(t, p, s, len(t))
            assert a == _plain_np_question(t, p, s, len(t)), (t, p, s)
            n += a is not None
        if t.isascii():
            m1, m2 = G._LEAD_LOW_RE.match(t.lower()), G._LEAD_WORDS_RE.match(t)
            assert (m1 and m1.span()) == (m2 and m2.span()), t
    assert n > 150, n

def test_word_operators_on_any_text_and_in_the_tail_only():
    "Operator words: found by the lowered text unless a letter may stand for 'i' or 's' ('ı', 'ſ'), and replaced in the calculation's tail only (ASCII)."
    r = random.Random(27)
    pieces = ["plus", "PLUS", "pluſ", "tımes", "TIMES", "times", "dıvided by", "divided by", "DIVIDED BY", "over", "OVER", "mınus", "minus", "multiplied by",
              "multıplied by", "İ", "K", "é", "≈", "×", " ", "  ", "\t", "\u00a0", "\n", "3", "12", "(4)", "\\frac{1}{2}", "\\times", "x", "=", ",", ". ", "is", "and"]
    n = 0
    for _ in range(8000):
        t = "".join(r.choice(pieces) + r.choice(["", " ", " "]) for _ in range(r.randrange(1, 20)))
        plain = t
        for pat, o in G._WORD_OPS: plain = pat.sub(o, plain)
        assert G._word_ops(t) == plain, t
        at = r.randrange(len(t) + 1)
        b = G._expr_before(t, at)
        assert b == _plain_expr_before(t, at), (t, at)
        n += b is not None
    assert n > 400, n

def _plain_detex(s):
    "`_detex` as first written: every rewrite runs, spaces squashed by `_WS_RE`."
    if "\\" not in s and "$" not in s: return s
    if "frac{" in s: s = G._FRAC_RE.sub(lambda m: "/".join(x if G._PLAIN_ARG_RE.fullmatch(x) else f"({x})" for x in m.groups()), s)
    s = G._TEX_SYM_RE.sub(lambda m: G._TEX_SYM[m.group(0)], s)
    if "{" in s: s = G._TEX_GROUP_RE.sub(lambda m: m.group(1), G._TEX_ARGS_RE.sub(G._tex_args, s))
    return G._WS_RE.sub(" ", G._TEX_RE.sub("", G._TEX_FN_RE.sub(lambda m: m.group(1), s))).strip()

def test_detex_equals_the_plain_one():
    "`_detex` runs each rewrite only where the text holds what it needs, and squashes spaces with `split`: the same plainer math."
    r = random.Random(28)
    pieces = ["\\frac{1}{2}", "\\dfrac{a+b}{c}", "\\tfrac{x}{y}", "\\sqrt{2}", "\\sqrt{x}{y}", "\\binom{4}{2}", "\\binom{n}", "^{12}", "_{n}", "^{-1.5}", "^ {2}",
              "{", "}", "\\cdot", "\\times", "\\ldots", "\\le", "\\leq", "\\ge", "\\div", "\\approx", "\\ln", "\\log", "\\sin", "\\pi", "\\pin", "\\sqrt",
              "\\(", "\\)", "\\[", "\\]", "$", "$$", "\\left(", "\\right)", "\\displaystyle", "\\,", "\\;", "\\!", "\\ ", "\\", " ", "  ", "\t", "\n",
              "\u00a0", "\x1c", "\x85", "\u2003", "\u200b", "x", "12", "é", "sqrt{", "binom{", "frac{", "^", "_", "(", ")"]
    for _ in range(20000):
        t = "".join(r.choice(pieces) for _ in range(r.randrange(0, 14)))
        assert G._detex(t) == _plain_detex(t), t

# each pattern written so that every match opens with a literal character (which `re` scans for quickly), against the plain pattern it
# stands for: (name, the fast form, the plain form), each a function of the text
LITERAL_OPENING_FORMS = [
    ("_TEX_DROP_RE", lambda s: G._TEX_DROP_RE.sub("", s), lambda s: G._TEX_RE.sub("", s)),
    ("_TEX_GROUP_AT_RE", lambda s: G._TEX_GROUP_AT_RE.sub(lambda m: m.group(1), s), lambda s: G._TEX_GROUP_RE.sub(lambda m: m.group(1), s)),
    ("_TEX_FN_DROP_RE", lambda s: G._TEX_FN_DROP_RE.sub("", s), lambda s: G._TEX_FN_RE.sub(lambda m: m.group(1), s)),
    ("_CLAUSE_CUT_AT_RE", lambda s: G._CLAUSE_CUT_AT_RE.split(s), lambda s: G._CLAUSE_CUT_RE.split(s)),
    ("_WORDS_AT_RE", lambda s: G._WORDS_AT_RE.sub(" ", s), lambda s: G._WORDS_RE.sub(" ", s)),
    ("_DIGITS_GAP_AT_RE", lambda s: G._DIGITS_GAP_AT_RE.split(s), lambda s: G._DIGITS_GAP_RE.split(s)),
]
LITERAL_OPENING_PIECES = ["\\", "\\(", "\\)", "\\[", "\\]", "$", "$$", "\\left", "\\right", "\\displaystyle", "left", "leftx", "\\leftx", "\\,", "\\;", "\\!",
                          "\\ ", "^", "_", "{", "}", "^{", "_{", "{12}", "{-1.5}", "{abcdefghi}", "{x y}", "\\ln", "\\log", "\\logx", "\\pi", "\\pin",
                          "\\sqrt", "\\binom", "\\sin", "\\cos", "\\tan", "\\exp", "ln", "pi", "(", ")", "x", "2", "é", "ı", " ", "\n", "\u00a0",
                          "\t", "  ", "\x1c", "\u2003", ",", ";", ".", ":", "_", "9", "12", "3.5", "+", "'", "’"] + G._CLAUSE_WORDS + [
                          "IS", "This", "island", "as", "also", "wasn't", "is_", "then9", "ofx", "Of", "a", "b", "xy", "AbC", "éa", "aé", "ﬁ", "K", "ǅ"]

def test_literal_opening_patterns_equal_the_plain_ones():
    "Each pattern rewritten to open with a literal or a class (a `\\b` or lookbehind moved after the first character, `\\$+` as `\\$\\$*`, a group kept by a lookahead) rewrites or splits as its plain pattern."
    r = random.Random(30)
    for _ in range(20000):
        t = "".join(r.choice(LITERAL_OPENING_PIECES) for _ in range(r.randrange(0, 16)))
        for name, fast, plain in LITERAL_OPENING_FORMS:
            assert fast(t) == plain(t), (name, t)

def test_np_bad_equals_the_plain_pattern():
    "`_np_bad` (lowered ASCII text: the opening words matched at the start, the rest by a pattern whose every match opens with a literal) finds what `_NP_BAD_RE` finds."
    r = random.Random(31)
    words = G._NP_BAD_OPEN + [w.rstrip("?") for w in G._NP_BAD_WORDS] + ["ends", "gives", "means", "IS", "Which", "THAT'S", "It's", "I", "island", "this1",
             "_so", "so_", "isn't", "thesis", "the", "total", "number", "of", "apples", "x", "9", "?", "=", ",", ", ", ";", "'", "’", "ı", "İ", "ſ", "K", "é", "ǅ"]
    n = 0
    for _ in range(20000):
        t = "".join(r.choice(words) + r.choice(["", " ", " ", "  ", "\n", "-", "'"]) for _ in range(r.randrange(0, 8)))
        plain = G._NP_BAD_RE.search(t) is not None
        assert G._np_bad(t) == plain, t
        n += plain
    assert 5000 < n < 19000, n

def _plain_clean_answer(v):
    "`clean_answer` as first written: both delimiter passes, the box and the number pattern always run."
    from rlkd_nb.core import last_boxed
    v = v[:400].strip().strip("*").strip().rstrip(".;,!").strip()
    v = G._DELIM_RE.sub("", G._DELIM_RE.sub("", v).strip()).strip().rstrip(".;,!").strip()
    b = last_boxed(v)
    if b is not None: v = b
    m = G._CLEAN_NUM_RE.match(v)
    return m.group(1).replace(",", "") if m else v

def test_clean_answer_equals_the_plain_one():
    "`clean_answer` skips the delimiters and the box when the text has no '\\' or '$', and keeps digits-only text as `_CLEAN_NUM_RE` would."
    r = random.Random(29)
    pieces = ["1", "19", "384", "٣", "²", "1,200", ",", ".", ". ", "-", "$", "$$", "\\(", "\\)", "\\[", "\\]", "\\boxed{", "\\fbox{", "}", "{", " ", "  ", "*",
              "**", ";", "!", "%", "\\%", " bits", "x", "\n", "\u00a0", "(no result)", "yes"]
    for _ in range(20000):
        t = "".join(r.choice(pieces) for _ in range(r.randrange(0, 10)))
        assert G.clean_answer(t) == _plain_clean_answer(t), t
    for t in ("1" * 400, "1" * 401, "٣" * 500, "12" * 300 + " bits"):      # digits only return at once, within the 400 characters read
        assert G.clean_answer(t) == _plain_clean_answer(t), t

def test_a_name_never_opens_as_a_calculation():
    "extract_trace reads `_is_arith(desc)` only where `desc` is no name (`_NP_OK_RE` opens with a word, `_ARITH_RE` with a digit, sign or '('): a name is no calculation."
    r = random.Random(33)
    pieces = ["the", "The", "a", "an", "this", "total", "number", "all", "İts", "ıts", "THE", " ", "  ", "\t", "-", "(", "3", "12", "+", "*", "/", "!", "x", "é", "٣"]
    n = 0
    for _ in range(20000):
        t = "".join(r.choice(pieces) + r.choice(["", " "]) for _ in range(r.randrange(0, 8)))
        if r.random() < 0.5: t += r.choice(["3 + 4", "(2 * 5)", "-1 - 2", "9!", "6 × 7"])
        nm, ar = G._NP_OK_RE.match(t), G._is_arith(t)
        assert not (nm and ar), t
        n += bool(nm) + 2 * ar
    assert n > 4000, n

def _plain_chain_question(text, p):
    "`_chain_question` as first written: each anchored pattern removed by `sub`, every part read, the first expression found by a generator."
    if p < 0: return None
    a = max(0, p - 240)
    ls = text.rfind("\n", a, p)
    head = text[ls + 1 if ls >= 0 else a:p]
    if "=" not in head and "≈" not in head and "\\approx" not in head: return None
    parts = [G._detex(x).strip(" \t,:") for x in G._CHAIN_SPLIT_RE.split(G._DISPLAY_OPEN_RE.sub("", G._LEAD_WORDS_RE.sub("", G._LIST_MARK_RE.sub("", head))))][:-1]
    if not parts: return None
    words = len(G._WORDS_RE.findall(parts[0]))
    label = parts[0] if "\\" not in parts[0] and (words > 1 or words and not G._OP_SIGN_RE.search(parts[0])) else None
    expr = next((x for x in parts if x != label and G._DIGIT_RE.search(x) and (G._OP_SIGN_RE.search(x) or "\\" in x) and len(x) <= 60), None)
    w = label.split() if label else []
    if label and not (G._NP_OK_RE.match(label) or len(w) <= 4 and not (len(w) > 1 and w[1].lower() in G._PREPS)) or label and len(label) > 60: label = None
    if not label and ls > 0 and (not parts[0] or G._DIGIT_RE.search(parts[0])):
        seg = text[max(0, ls - 300):ls].rstrip()
        prev = seg[seg.rfind("\n") + 1:].strip()
        if prev.endswith(":"):
            k = max(prev.rfind(". ", 0, len(prev) - 1), prev.rfind("? ", 0, len(prev) - 1))
            np = G._LEAD_WORDS_RE.sub("", G._NP_END_RE.sub("", prev[k + 1:].strip().rstrip(":"))).strip()
            if 3 <= len(np) <= 100 and G._NP_OK_RE.match(np) and not G._NP_BAD_RE.search(np): label = np
    if label: label = G._low1(label)
    if label and expr: return f"What is {label}, {expr}?", label, True
    if label: return f"What is {label}?", label, True
    if expr and len(expr) >= 2: return f"What is {expr}?", expr, False
    return None

CHAIN_PIECES = ["Total 4's", "the total number of arrangements", "So, ", "so ", "Thus ", "- ", "3. ", "12) ", "* ", "• ", "  ", "\t", "\\[", "\\(", "$$", "$",
                "=", " = ", "≈", "\\approx", "(10 - 1)!", "9!", "362880", "48 + 50 + 89", "\\frac{1}{2}", "\\times", "\\cdot", "\\ln(1.005)", "x", "p(5)",
                "is:", "So, the total number of arrangements is:", "Start with", "sin(1/x)", "with", "the cost", "12", "3.5", "1,200", "\n", "\n\n", ". "]

def test_chain_question_equals_the_plain_one():
    "The equation-chain reader (anchored patterns matched once, the last part never read) asks what the plain one asks."
    r = random.Random(25)
    n = named = 0
    for _ in range(8000):
        t = "".join(r.choice(CHAIN_PIECES + WORDS[:60]) + r.choice(["", " ", " "]) for _ in range(r.randrange(1, 30)))
        if r.random() < 0.2: t = t.upper()
        p = r.choice([m.start() for m in re.finditer(r"\d", t)] + [-1, len(t)])
        a = G._chain_question(t, p)
        assert a == _plain_chain_question(t, p), (t, p)
        n += a is not None; named += bool(a and a[2])
    assert n > 600 and named > 300, (n, named)

def test_chain_question_display_label_as_the_plain_one():
    "A chain alone on its line takes its label from the line before it that ends with ':' (less its verb, by `_np_end`, and its lead words): as the plain reader."
    r = random.Random(32)
    n = 0
    for _ in range(6000):
        prev = "".join(r.choice(["", "First. ", "Why? ", "So, ", "Thus ", "OK ", "ſo ", "and then "]) for _ in range(r.randrange(0, 3)))
        prev += r.choice(["the total number of arrangements", "The number of eggs", "this sum", "it", "x", "the cost of é", "what we want", "total"])
        prev += r.choice(["", " is", " would be", " equals", " are approximately", " comes to", " was about", " İs", " IS", " is now", " then"])
        prev += r.choice([":", " :", "::", ":\t", "", ": "]) + r.choice(["", "\n", "  \n"])
        t = r.choice(["", "Some words.\n"]) + prev + "\n" + r.choice(["\\[ (10 - 1)! = 9! = ", "= ", "12 = ", "$$ 3 \\times 4 = ", "- 2 + 3 = ", "So 4 ≈ "]) + "12"
        if r.random() < 0.2: t = t.upper()
        a = G._chain_question(t, len(t) - 2)
        assert a == _plain_chain_question(t, len(t) - 2), t
        n += bool(a and a[2])
    assert n > 1500, n

_PLAIN_RESULT_RE = re.compile(    # `_RESULT_RE` as first written: spaces and fillers as `[ \t]*(?:…)*[ \t]*`, no test of how a value opens
    r"(?:(?<![<>!=])=(?!=)|≈|\\approx|\b(?:is|are|was|were|equals?|gives?|get|gets|got|becomes?|makes?|yields?|has|have|"
    r"totals?|that's|it's|leaves?|left with|comes? to|simplifies to|(?:a )?total of|sum of)\b)"
    r"[ \t]*(?:approximately |about |exactly |just |only |indeed |now |still |roughly |\\boxed\{|\$|\\\(|\\\[)*[ \t]*"
    rf"(?P<v>{G._VALUE})(?!\d|\.\d|\s*[-+*/^×·]\s*[\w(\\]|\()")

RESULT_PIECES = ["is", "are", "=", "==", "<=", "≈", "\\approx", "equals", "gives", "gets", "total of", "a total of", "comes to", "that's", "left with",
                 " ", "  ", "\t", "approximately ", "about ", "just ", "\\boxed{", "$", "\\(", "\\[", "12", "-3", "1,200", "3.5", ".5", "4/5", "4 / 5",
                 "\\frac{1}{2}", "-\\dfrac{a}{b}", "\\sqrt{2}", "no", "none", "zero", "x = 5", "x=5", "y =", "50%", " + 3", "+", "*", "(", ")", "\n",
                 "the", "a", "nothing", "٣", "é", ",", "."]

def test_result_pattern_equals_the_plain_one():
    "`_RESULT_RE` (spaces and fillers without repeats, a test of how a value opens) finds the same results, with the same value spans, as the plain pattern."
    r = random.Random(24)
    span = lambda m: m and (m.span(), m.span("v"))
    n = 0
    for _ in range(20000):
        t = "".join(r.choice(RESULT_PIECES) + r.choice(["", "", " "]) for _ in range(r.randrange(1, 16)))
        assert [span(m) for m in G._RESULT_RE.finditer(t)] == [span(m) for m in _PLAIN_RESULT_RE.finditer(t)], t
        p = r.randrange(len(t) + 1); e = r.randrange(p, len(t) + 1)
        assert span(G._RESULT_RE.match(t, p, e)) == span(_PLAIN_RESULT_RE.match(t, p, e)), (t, p, e)
        n += _PLAIN_RESULT_RE.search(t) is not None
    assert n > 3000

def test_line_cue_opening_tests_keep_every_cue():
    "The tests of how list marks and headings open (`_LINE_CUE_RE`), and the lines `_lines` reads no cue in, skip none: every opening and letter against the three plain matches."
    opens = LINE_HEADS + ["ſtep 3: ", "ſtage 10 : ", "1. ſtep 2: ", "- Case 4: ", "\tPart 1:", "  layer 2 :", "(3) ", "### ", "• ", "*", "12) ", "٣. ",
                          "**Tens place:** ", "\\[", "$", "=", "≈"]
    tails = ["", "so the total", "wait, no", "let me check", "first, find x", "alternatively", "the answer is 4", "Step 3: go", "ſtep 1: a", "x"]
    for o in opens:
        for c in [""] + [chr(i) for i in range(32, 127)] + ["ſ", "K", "İ", "ı", "é", "•", "٣"]:
            for tl in tails:
                low = G._lower(o + c + tl)
                assert G._cue(low) == _plain_cue(low), low
                if "\n" not in low: assert [_cue_of(low, ln) for ln in G._lines(low, low)] == [_plain_cue(low, ln.s) for ln in G._lines(low, low)], low

from re import _parser as _sre_parse, _constants as _sre_c

def _prefixes(rx, sigma, k=2):
    """The k-character openings (over the characters `sigma`) of the strings `rx` can match, read off its parsed form: a superset,
    as lookarounds and word boundaries are taken to hold everywhere; a match shorter than k gives a shorter string."""
    groups, memo = {}, {}
    def scan(items):
        for op, av in items:
            if op is _sre_c.SUBPATTERN: groups[av[0]] = av; scan(av[3].data)
            elif op is _sre_c.BRANCH: [scan(a.data) for a in av[1]]
            elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT): scan(av[2].data)
            elif op in (_sre_c.ASSERT, _sre_c.ASSERT_NOT): scan(av[1].data)
    def chars(op, av, flags):      # the characters of `sigma` one character-matching item matches, by `re` itself
        key = (op, repr(av), flags & re.I)
        if key not in memo:
            if op is _sre_c.LITERAL: src = re.escape(chr(av))
            elif op is _sre_c.NOT_LITERAL: src = "[^" + re.escape(chr(av)) + "]"
            elif op is _sre_c.ANY: src = "."
            else:
                cat = {_sre_c.CATEGORY_DIGIT: r"\d", _sre_c.CATEGORY_NOT_DIGIT: r"\D", _sre_c.CATEGORY_SPACE: r"\s", _sre_c.CATEGORY_NOT_SPACE: r"\S",
                       _sre_c.CATEGORY_WORD: r"\w", _sre_c.CATEGORY_NOT_WORD: r"\W"}
                src = "[" + "".join("^" if o is _sre_c.NEGATE else re.escape(chr(a)) if o is _sre_c.LITERAL else
                                    re.escape(chr(a[0])) + "-" + re.escape(chr(a[1])) if o is _sre_c.RANGE else cat[a] for o, a in av) + "]"
            memo[key] = [x for x in sigma if re.fullmatch(src, x, flags & re.I)]
        return memo[key]
    def seq(items, states, flags):
        for op, av in items:
            done, todo = {s for s in states if len(s) >= k}, {s for s in states if len(s) < k}
            if op in (_sre_c.LITERAL, _sre_c.NOT_LITERAL, _sre_c.ANY, _sre_c.IN): todo = {s + x for s in todo for x in chars(op, av, flags)}
            elif op is _sre_c.BRANCH: todo = set().union(*(seq(a.data, todo, flags) for a in av[1]))
            elif op in (_sre_c.SUBPATTERN, _sre_c.GROUPREF):
                g, add, dele, sub = av if op is _sre_c.SUBPATTERN else groups[av]
                todo = seq(sub.data, todo, (flags | add) & ~dele)
            elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT):
                lo, hi, sub = av
                for _ in range(lo): todo = seq(sub.data, todo, flags)
                new, n = set(todo), 0
                while new and n < hi:       # openings only grow up to k characters: a fixed point is reached
                    new = seq(sub.data, new, flags) - todo; todo |= new; n += 1
            elif op not in (_sre_c.AT, _sre_c.ASSERT, _sre_c.ASSERT_NOT): raise ValueError(op)
            states = done | todo
        return states
    tree = _sre_parse.parse(rx.pattern, rx.flags)
    scan(tree.data)
    return seq(tree.data, {""}, rx.flags)

SIGMA = [chr(i) for i in range(1, 128)] + ["ſ", "K", "İ", "ı", "é", "•", "٣", "\u00a0", "\u2009", "\u3000", "≈", "×"]

def test_cue_pair_table_keeps_every_cue():
    "Each first two characters `_LINE_CUE_RE` can open with pass `_CUE_NEXT`, and `_lines` reads the same cues as the plain match on every such pair."
    pairs = _prefixes(G._LINE_CUE_RE, SIGMA)
    assert len(pairs) > 250 and not [p for p in pairs if len(p) < 2]       # no match of fewer than two characters
    for p in pairs:
        nx = G._CUE_NEXT.get(p[0])
        assert nx is None or p[1] in nx or p[1] >= "\x80", p
    tails = ["", " so", "o, let me check", "t wait", "\u00a0we"]
    for a in SIGMA:
        for b in SIGMA:
            for tl in tails:
                low = G._lower(a + b + tl)
                if "\n" not in low:
                    assert [_cue_of(low, ln) for ln in G._lines(low, low)] == [_plain_cue(low, ln.s) for ln in G._lines(low, low)], low
    assert _prefixes(re.compile(r"(?i:st)ep|a\d"), SIGMA) == {"st", "St", "sT", "ST", "ſt", "ſT", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a٣"}

def test_lower_equals_the_plain_lower():
    "`_lower` (ASCII letters lowered as UTF-8 bytes, then the other characters lower-casing changes) equals `str.lower`, or the ASCII lowering where that changes the length."
    def plain(s):
        l = s.lower()
        return l if len(l) == len(s) else s.translate(G._ASCII_LOWER)
    r = random.Random(26)
    chars = list("aZ09 .,\n") + ["Σ", "σ", "ς", "Δ", "İ", "ı", "K", "ſ", "É", "ß", "ẞ", "≈", "×", "ǅ", "Ǆ", "\ud800", "\U0001D400", "ﬁ", "Ω", "\u0345"]
    for _ in range(30000):
        s = "".join(r.choice(chars) for _ in range(r.randrange(0, 12)))
        assert G._lower(s) == plain(s), repr(s)
    for i in list(range(0x10000)) + list(range(0x10000, 0x110000, 97)):     # every character of the BMP between two letters
        s = "A" + chr(i) + "b" + chr(i)
        assert G._lower(s) == plain(s), hex(i)

def _plain_final_result(text):
    "`final_result` as first written: the answer pattern tried all along the last 1,500 characters."
    tail = text[-4000:]
    b = G._last_box(tail)
    if b: return G.clean_answer(b)
    m = None
    for m in G._ANSWER_IS_RE.finditer(tail, max(0, len(tail) - 1500)): pass
    if m is None: return None
    return G.clean_answer(re.split(r"(?<=[^\d\\])[.;](?:\s|$)|\s(?:because|since|which)\b", m.group("v"))[0])

def test_final_answer_scan_from_the_first_answer_word_finds_the_same():
    "The answer pattern tried only from 6 characters before the first 'answer' (lowered; 'ſ' for 's') finds what the full scan finds."
    r = random.Random(27)
    pieces = WORDS + ["answer", "Answer", "ANSWER", "anſwer", "AnSwEr", "final answer", "Final Answer", "the answer", "THE ANSWER", "is", " is ",
                      ":", "=", "should be", " 42", "\\boxed{7}", "\\fbox{8}", "x" * 700, "\n"]
    n = 0
    for _ in range(6000):
        t = "".join(r.choice(pieces) + r.choice(["", " "]) for _ in range(r.randrange(0, 30)))
        got = G.final_result(t)
        assert got == _plain_final_result(t), t
        n += got is not None
    assert n > 1000, n
    for i in range(0x10000):        # every character the pattern takes for a letter of 'answer' (re.I), in place of it
        x = chr(i)
        for k, ch in enumerate("answer"):
            if re.fullmatch(ch, x, re.I):
                t = "So the final " + "answer"[:k] + x + "answer"[k + 1:] + " is 42."
                assert G.final_result(t) == _plain_final_result(t) == "42", t

def _plain_is_lines(text):
    "`_is_lines` as first written: no one-character search before '<<' and '####'."
    if "<<" in text and G._CALC_FULL_RE.search(text): return True
    if "####" in text and re.search(r"^[ \t]*####", text, re.M): return True
    return "\n\n" not in text.strip() and text.count("\n") < 25 and not re.match(r"\s*(?:okay|ok|alright|hmm|so,? i|let me|i need)\b", text[:40], re.I)

def _plain_extract(problem, reasoning, max_steps=20):
    "`HeuristicGSRM.extract` (mode 'auto') as first written: no search for '<' before the think tags."
    reasoning, offset = "" if reasoning is None else str(reasoning), 0
    if "</think>" in reasoning or reasoning.lstrip()[:7].lower() == "<think>":
        head = reasoning.split("</think>", 1)[0]
        m = re.match(r"\s*(?:<think>)?\s*", head, re.I)
        offset, reasoning = m.end(), head[m.end():].rstrip()
    if not reasoning.strip(): return G.Structure(warnings=["empty reasoning"])
    if _plain_is_lines(reasoning): return G.extract_lines(reasoning, problem, offset)
    return G.extract_trace(reasoning, problem, offset, max_steps)

def test_tag_and_mode_tests_equal_the_plain_ones():
    "The searches for '<' and '#' before the think tags, '<<' and '####' skip no text the plain tests take."
    r = random.Random(28)
    pieces = WORDS + ["<think>", "</think>", "<THINK>", "<", "<<", "<<2*3=6>>", "<<a>>", ">>", "####", "#### 6", "#", "\n\n", "  ", "Okay, so"]
    g = HeuristicGSRM()
    for _ in range(3000):
        t = "".join(r.choice(pieces) + r.choice(["", " ", "\n"]) for _ in range(r.randrange(0, 25)))
        assert G._is_lines(t) == _plain_is_lines(t), t
        assert g.extract("p", t).to_dict() == _plain_extract("p", t).to_dict(), t

def _plain_result_starts(low):
    "`_result_starts` as first written: one search for each head of `_HEADS`."
    out = []
    for h in G._HEADS:
        i, word = low.find(h), h[0].isalpha()
        while i >= 0:
            if not (word and i and low[i - 1] in G._ASCII_WORD): out.append(i)
            i = low.find(h, i + 1)
    return sorted(out)

def test_result_starts_equal_the_plain_ones():
    "'become' found as 'come' after 'be' and 'a total of' as 'total' after 'a ': the same starts as one search for each head."
    r = random.Random(29)
    pieces = ["a total of", "a total", "total of", "total", "totals", "a", "a ", "ba", "become", "becomes", "come", "comes to", "be", "b", "e", " of",
              "of", "xa total of", "_become", "is", "this", "=", "≈", "\\approx", " ", "\n", "(", "5", "é"]
    for _ in range(30000):
        low = G._lower("".join(r.choice(pieces) for _ in range(r.randrange(0, 10))))
        assert G._result_starts(low) == _plain_result_starts(low), low

def test_quick_number_pattern_equals_num_re():
    "The problem's numbers: `_NUM_QUICK_RE` finds what `_NUM_RE` finds, and `_norm_value` of each only drops its commas."
    r = random.Random(37)
    pieces = ["-", ".", ",", "1", "12", "123", "1,000", "٣", "a", "_", " ", "x", "é", "-.", "..", ",12", ".5", "0.5", "\n", "$", "(", "1234", "/", "%"]
    for _ in range(60000):
        t = "".join(r.choice(pieces) for _ in range(r.randrange(0, 14)))
        found = G._NUM_QUICK_RE.findall(t)
        assert found == G._NUM_RE.findall(t), t
        assert [x.replace(",", "") for x in found] == [G._norm_value(x) for x in found], t

def _plain_task_question(problem):
    "`_task_question` as first written: every pattern run over the whole tail."
    tail = G._TAIL_NOTE_RE.sub("", (problem or "")[-600:].rstrip())
    if (q := G.problem_question(tail)): return G._detex(q)
    m = None
    for m in G._WH_CLAUSE_RE.finditer(tail): pass
    if m: return G._cap(G._detex(m.group(0)))
    m = None
    for m in G._TASK_VERB_RE.finditer(tail): pass
    obj = G._WS_RE.sub(" ", G._detex(tail[m.end():])).strip().rstrip(" .,;") if m else ""
    return f"What is {obj}?" if 2 <= len(obj) <= 150 else None

def test_task_question_equals_the_plain_one():
    "The note removed only from a tail ending with ')', the question patterns run only where a '?' is, the task verbs searched from the spaces before the first verb."
    r = random.Random(41)
    pieces = ["Find", "FIND", "find", "compute", "Compute:", "Evaluate", "determine", "calculate", "simplify", "ſimplify", "refind", "finder", " ", "  ", "\n",
              "\t", "\u00a0", "\x1c", ".", "?", "!", ":", "]", "$", "what is", "How many", "which", "(in dollars)", "(", ")", "x", "2", "p(5)", "é", "K", "the area"]
    for _ in range(20000):
        t = "".join(r.choice(pieces) + r.choice(["", " "]) for _ in range(r.randrange(0, 14)))
        assert G._task_question(t) == _plain_task_question(t), t
    for t in ["Find $p(5).$", "Compute the sum. (Give your answer as a fraction.)", "What is x?  ", "Simplify  \n find the area", "x.Find y"]:
        assert G._task_question(t) == _plain_task_question(t), t
