"""Property tests of rlkd_nb.data that a notebook cannot hold: the real GSM8K Socratic file, hundreds of generated
problems, and JSONL files corrupted at random. The loaders' examples and error cases are in nbs/01_data.ipynb."""
import json, random, re
import pytest
from rlkd_nb.core import Structure
from rlkd_nb.data import DataError, iter_jsonl, load_builtin, load_gsm8k_jsonl, load_jsonl, write_jsonl_atomic


def test_real_socratic_file_every_problem_has_steps(shared_data):
    path = shared_data / "gsm8k" / "socratic_dev.jsonl"
    if not path.exists(): pytest.skip(f"{path} not present")
    recs = load_gsm8k_jsonl(path, socratic=True)
    assert len(recs) == 660
    for r in recs:
        st = Structure.from_dict(r["teacher_structure"])
        assert len(st) >= 1 and all(s.subproblem and s.answer for s in st), r["problem"]
        assert st.final_answer == r["answer"]
    # the step answers are short results: nearly all a number, and the last step's is nearly always the gold answer
    answers = [s.answer for r in recs for s in Structure.from_dict(r["teacher_structure"])]
    assert sum(a.replace(".", "", 1).replace("-", "", 1).replace("%", "").replace("/", "", 1).isdigit() for a in answers) / len(answers) > 0.99
    last_ok = sum(float(Structure.from_dict(r["teacher_structure"])[-1].answer.rstrip("%")) == float(r["answer"])
                  for r in recs if Structure.from_dict(r["teacher_structure"])[-1].answer.replace(".", "", 1).isdigit())
    assert last_ok / len(recs) > 0.9


def test_builtin_structure_final_equals_gold_and_spans():
    data = load_builtin(200, seed=3)
    assert len({r["problem"] for r in data}) > 150
    assert len({r["template"] for r in data}) == 10
    n_two = 0
    for r in data:
        st = Structure.from_dict(r["teacher_structure"])
        assert st.final_answer == r["answer"] == st[-1].answer
        assert str(int(r["answer"])) == r["answer"] and int(r["answer"]) >= 0     # a non-negative integer, written plainly
        assert len(st) in (3, 4)                                                   # the chosen sub-problems, then the check
        assert st[-1].subproblem.startswith("Is ") and st[-1].meta.startswith("Wait")
        n_two += len(st) == 3
        for s in st:
            assert s.subproblem.endswith("?") and s.meta and s.answer.lstrip("-").isdigit()
            assert s.span is not None and r["teacher_trace"][s.span[0]:s.span[1]].strip()
        tr = r["teacher_trace"]
        assert tr.startswith("Okay, so") and "I could start with" in tr and "\\boxed{" + r["answer"] + "}" in tr
        assert "I could start with" in st[0].meta          # the rejected alternative is part of the first meta
    assert n_two >= 30        # some easy 2-step problems


def test_builtin_step_answers_are_consistent_arithmetic():
    for r in load_builtin(100, seed=11):
        st = Structure.from_dict(r["teacher_structure"])
        for s in st:
            seg = r["teacher_trace"][s.span[0]:s.span[1]]
            found = re.findall(r"((?:\d+ [-+*/] )+\d+) = (\d+)", seg)
            assert found, seg
            for expr, res in found:
                assert eval(expr) == int(res), seg


def _corrupt(line: bytes, rng: random.Random) -> bytes:
    "One kind of damage a real file gets: a bad byte, a cut line, a lone surrogate escape, deep nesting, a non-object."
    k = rng.randrange(6)
    if k == 0: i = rng.randrange(len(line)); return line[:i] + bytes([rng.choice([0x80, 0xc3, 0xff, 0xfe, 0xed])]) + line[i:]
    if k == 1: return line[:rng.randrange(1, len(line))]
    if k == 2: return line.replace(b'"problem": "', b'"problem": "\\ud83d', 1)
    if k == 3: return b'{"problem": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    if k == 4: return b"[" + line + b"]"
    return line                                            # left intact


def test_corrupted_jsonl_files_fail_line_by_line(tmp_path):
    "Random damage to random lines: every damaged line is one DataError naming its file and line, the others read back unchanged."
    rng = random.Random(12)
    for trial in range(40):
        recs = [{"problem": f"p{i} é {'x' * rng.randrange(50)}", "answer": str(i), "trace": "t"} for i in range(30)]
        lines = [json.dumps(r, ensure_ascii=False).encode() for r in recs]
        damaged = {i: _corrupt(lines[i], rng) for i in rng.sample(range(30), rng.randint(1, 6))}
        path = tmp_path / f"t{trial}.jsonl"
        path.write_bytes(b"\n".join(damaged.get(i, l) for i, l in enumerate(lines)) + b"\n")
        bad = sorted(i + 1 for i, l in damaged.items() if l != lines[i])
        errors = []
        got = list(iter_jsonl(path, on_error=errors.append))
        assert [n for n, _ in got] == [n for n in range(1, 31) if n not in bad]
        assert all(r == recs[n - 1] for n, r in got)
        assert [int(re.search(r"\.jsonl:(\d+): ", str(e)).group(1)) for e in errors] == bad
        assert all(str(e).startswith(str(path)) and "\n" not in str(e) for e in errors)
        if bad:
            with pytest.raises(DataError, match=rf"{path.name}:{bad[0]}: "):
                load_jsonl(path)
            assert len(load_jsonl(path, on_error=lambda e: None)) == 30 - len(bad)


def test_a_record_with_a_lone_surrogate_is_never_written(tmp_path):
    "Records read with on_error skipping the bad one can be written back; writing the bad one is refused before any byte."
    p = tmp_path / "in.jsonl"
    p.write_text('{"problem": "ok"}\n{"problem": "bad \\udc80"}\n')
    good = [r for _, r in iter_jsonl(p, on_error=lambda e: None)]
    assert write_jsonl_atomic(tmp_path / "out.jsonl", good) == 1
    with pytest.raises(DataError, match="record 0 holds a lone surrogate"):
        write_jsonl_atomic(tmp_path / "out.jsonl", [{"problem": "bad \udc80"}])
    assert (tmp_path / "out.jsonl").read_text() == '{"problem": "ok"}\n'
