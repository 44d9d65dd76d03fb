"""Fuzzing core.parse_gsrm with 10,000 mutated GSRM outputs: it never raises, never invents text, and round-trips.

Seeded, so a failure is reproducible: the assertion message carries the offending text. (Its time per KB on
adversarial input is tests/test_text_fuzz.py's job.)"""
import json, random, re
import pytest
from rlkd_nb.core import MAX_FIELD_CHARS, Structure, as_structure, parse_gsrm
from rlkd_nb.data import load_builtin
from rlkd_nb.gsrm import extract

N_CASES = 10_000

def _bases() -> list[str]:
    "Canonical GSRM texts: true structures of the built-in data and heuristic extractions of its traces."
    out = []
    for r in load_builtin(40, seed=123):
        out.append(Structure.from_dict(r["teacher_structure"]).to_text())
        out.append(extract(r["problem"], r["teacher_trace"]).to_text())
    return out

ALIASES = {"Meta-reasoning": ["Meat-reasoning", "sub-think", "meta reasoning", "META-REASONING", "Meta_reasoning", "meta-Reasoning", "Metareasoning", "Meta–reasoning"],
           "Sub-problem": ["Query", "sub problem", "SUB-PROBLEM", "Subproblem", "sub_problem", "Sub - problem", "query"],
           "Answer": ["answer", "ANSWER", "Answer ", " Answer"]}
UNICODE = ["\u200b", "\ufeff", "\u202e", "：", "—", "é", "😀", "\u0000", "\r", "\t", "İ", "ß", "\u00a0", "［", "］", "\U0010ffff", "\ud7ff"]
TAG_RE = re.compile(r"\[(Meta-reasoning|Sub-problem|Answer) (\d+)\]:")

def mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        k = rng.randrange(14)
        if k == 0 and lines: lines.pop(rng.randrange(len(lines)))                                   # drop a field
        elif k == 1 and lines: i = rng.randrange(len(lines)); lines.insert(i, lines[i])            # duplicate a field
        elif k == 2: rng.shuffle(lines)                                                             # reorder
        elif k == 3 and len(lines) > 1: i, j = rng.randrange(len(lines)), rng.randrange(len(lines)); lines[i], lines[j] = lines[j], lines[i]
        elif k == 4:                                                                                 # renumber
            lines = [TAG_RE.sub(lambda m: f"[{m.group(1)} {rng.choice([0, 1, 2, 7, 99, 9999, int(m.group(2)) + rng.randint(-2, 2)])}]:", l) for l in lines]
        elif k == 5:                                                                                 # alias mix
            lines = [TAG_RE.sub(lambda m: f"[{rng.choice(ALIASES[m.group(1)] + [m.group(1)])} {m.group(2)}]{rng.choice([':', '', ' -', '：', ' :', '—'])}", l) for l in lines]
        elif k == 6:                                                                                 # case / spacing
            lines = [rng.choice([str.upper, str.lower, str.strip, lambda s: "  " + s + "  ", lambda s: s.replace(" ", "   "), lambda s: s.replace("[", "[ ").replace("]", " ]")])(l) for l in lines]
        elif k == 7:                                                                                 # unicode noise
            s = "\n".join(lines); i = rng.randrange(len(s) + 1)
            lines = (s[:i] + "".join(rng.choices(UNICODE, k=rng.randint(1, 5))) + s[i:]).split("\n")
        elif k == 8:                                                                                 # truncation
            s = "\n".join(lines); lines = s[:rng.randrange(len(s) + 1)].split("\n")
        elif k == 9:                                                                                 # tags inline on one line
            lines = [" ".join(lines)]
        elif k == 10:                                                                                # broken / nested brackets
            s = "\n".join(lines); i = rng.randrange(len(s) + 1)
            lines = (s[:i] + rng.choice(["[", "]", "[[", "]]", "[Answer", "[Answer 3", "[Answer 3]", "[Sub-problem 12345678901234567890]:", "[Meta-reasoning -1]:", "[]"]) + s[i:]).split("\n")
        elif k == 11:                                                                                # final-answer line games
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(["So the final answer is:", "the final answer is 5", "So, the final answer is: \\boxed{3}", "FINAL ANSWER IS", "So the final answer is: [Answer 1]: x"]))
        elif k == 12:                                                                                # markdown wrappers
            lines = [rng.choice(["**", "- ", "### ", "> ", "1. "]) + l + rng.choice(["", "**"]) for l in lines]
        else:                                                                                        # random bytes
            s = "\n".join(lines); i = rng.randrange(len(s) + 1)
            lines = (s[:i] + "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randint(1, 20))) + s[i:]).split("\n")
    return "\n".join(lines)

def _check(st, text):
    "What parse_gsrm promises on any text: fields are cleaned pieces of the input at their span, and the JSON form round-trips."
    src = text if isinstance(text, str) else ("" if text is None else str(text))
    d = st.to_dict()
    assert Structure.from_dict(json.loads(json.dumps(d))) == Structure.from_dict(d)
    st.to_text(); st._repr_markdown_(); st._repr_html_()
    for s in st:
        a, b = s.span
        assert 0 <= a < b <= len(src), (s.span, text)
        for f in (s.meta, s.subproblem, s.answer):
            assert f in src[a:b] and len(f) <= MAX_FIELD_CHARS, (f, text)   # nothing invented, nothing unbounded
    if st.final_answer: assert st.final_answer in src, text
    assert len(st) <= src.count("[")                                        # at most one step per tag

def test_parse_gsrm_fuzz():
    rng = random.Random(20261127)
    bases = _bases()
    specials = ["", " ", "\n", None, "[", "]", "[Answer 1]", "[Answer 1]:", "So the final answer is:", "\x00" * 10, "[Meta-reasoning 1]" * 500,
                "[" * 10000, "[Answer 1]: " + "x" * 100000, 12345, "😀" * 1000]
    for text in specials + [mutate(rng.choice(bases), rng) for _ in range(N_CASES)]:
        try:
            st = parse_gsrm(text)
        except Exception as e:   # report the exact input that crashed core.parse_gsrm
            pytest.fail(f"parse_gsrm raised {type(e).__name__}: {e} on input {text!r}")
        _check(st, text)
        if isinstance(text, str) and text.lstrip()[:1] not in "{[":
            assert as_structure(text) == st                                 # GSRM text reads the same through as_structure


def test_alias_only_mutations_keep_every_step():
    "A real behaviour check, not just 'no crash': alias, case and spacing changes alone lose no step or field."
    rng = random.Random(7)
    for text in _bases()[:40]:
        st0 = parse_gsrm(text)
        mixed = TAG_RE.sub(lambda m: f"[{rng.choice(ALIASES[m.group(1)] + [m.group(1)])} {m.group(2)}]{rng.choice([':', ' :', ' -', '：'])}", text)
        st = parse_gsrm(mixed)
        assert len(st) == len(st0) and [s.answer for s in st] == [s.answer for s in st0], mixed
        assert st.final_answer == st0.final_answer

def test_dropped_field_is_a_warning_not_an_error():
    text = _bases()[0]
    lines = [l for l in text.split("\n") if not l.startswith("[Sub-problem 1]")]
    st = parse_gsrm("\n".join(lines))
    assert st[0].subproblem == "" and any("step 1: missing subproblem" in w for w in st.warnings)
