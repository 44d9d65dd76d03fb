"""The outcome rewards judged on a table of hand-made completions (open-r1 `tests/test_rewards.py` style).

Each row is a decision, stated in nbs/06_reward.ipynb: word answers are compared, a hedge or an extra value is not
the answer, boxes joined by "and" are one answer in parts, format is the whole reply, and completions of chat
templates that already opened `<think>` are read with `think_in_prompt=True`. The table is also what the issue
note's before/after count is taken on (`python tests/test_outcome_rewards.py` prints it for whatever rlkd_nb is
importable).
"""
import random
import pytest
from rlkd_nb.reward import accuracy_reward, format_reward, get_reward_funcs, tag_count_reward

# (gold, completion, expected accuracy)
ACCURACY = [
    ("yes", "\\boxed{yes}", 1.0), ("yes", "\\boxed{Yes}", 1.0), ("yes", "\\boxed{No}", 0.0), ("yes", "\\boxed{sey}", 0.0),
    ("Monday", "The final answer is: Monday", 1.0), ("Monday", "<answer>\nmonday\n</answer>", 1.0),
    ("\\text{Monday}", "\\boxed{\\text{Monday}}", 1.0), ("\\text{Monday}", "\\boxed{Tuesday}", 0.0),
    ("Yes", "\\boxed{\\text{yes}}", 1.0), ("B", "\\boxed{B}", 1.0), ("B", "\\boxed{C}", 0.0), ("\\text{(B)}", "\\boxed{B}", 1.0),
    ("3", "#### 12 apples and 3 pears", 0.0), ("8", "The final answer is: 7 or maybe 8", 0.0), ("3", "The final answer is: either 3 or 4", 0.0),
    ("8", "\\boxed{7} or \\boxed{8}", 0.0), ("8", "\\boxed{7 \\text{ or } 8}", 0.0), ("18", "<answer>\n18 or 19\n</answer>", 0.0),
    ("2,3", "\\boxed{2} and \\boxed{3}", 1.0), ("2,3", "\\boxed{3} and \\boxed{2}", 1.0), ("2,3", "\\boxed{2, 3}", 1.0),
    ("3", "\\boxed{2} and \\boxed{3}", 0.0), ("2, 3", "\\boxed{2}, \\boxed{3}", 1.0), ("2,3", "\\boxed{2} and \\boxed{4}", 0.0),
    ("(2, 3)", "\\boxed{(2,3)}", 1.0), ("18", "#### 18 dollars", 1.0), ("18", "The final answer is $18.", 1.0), ("18", "#### 18", 1.0),
    ("18", "First I got \\boxed{12}, but wait, that is wrong. So the answer is \\boxed{18}.", 1.0),
    ("\\frac{1}{2}", "\\boxed{0.5}", 1.0), ("0.5", "\\boxed{\\frac{1}{2}}", 1.0), ("18", "no answer", 0.0), ("1200", "\\boxed{1,200}", 1.0),
    ("12", "The final answer is: 12 apples", 1.0), ("x^2+1", "\\boxed{x^2 + 1}", 1.0), ("18", "\\boxed{17}", 0.0),
    ("Janet sells 9 eggs.\n#### 18", "\\boxed{18}", 1.0), ("so $x = \\boxed{5}$", "\\boxed{5}", 1.0),
]
# (completion, think_in_prompt, expected format, expected tag_count)
GOOD = "<think>\nShe sells 9 eggs.\n</think>\n<answer>\n\\boxed{18}\n</answer>"
INSIDE = "She sells 9 eggs.\n</think>\n<answer>\n\\boxed{18}\n</answer>"
FORMAT = [(GOOD, False, 1.0, 1.0), (GOOD + "\n", False, 1.0, 1.0), (GOOD + "\nI hope this helps!", False, 0.0, 1.0),
          ("<think>x</think><answer>1</answer>", False, 0.0, 0.0), ("<think>\nx\n</think>\n18", False, 0.0, 0.5),
          (INSIDE, False, 0.0, 0.75), (INSIDE, True, 1.0, 1.0), (GOOD, True, 1.0, 0.75), (GOOD + GOOD, False, 1.0, 0.0),
          ("<think>\n\n</think>\n<answer>\n\n</answer>", False, 1.0, 1.0), ("<think>\n</think>\n<answer>\n</answer>", False, 0.0, 1.0),
          ("", True, 0.0, 0.25)]


@pytest.mark.parametrize("gold,completion,expected", ACCURACY)
def test_accuracy(gold, completion, expected):
    assert accuracy_reward([completion], answer=[gold]) == [expected]
    assert accuracy_reward([[{"role": "assistant", "content": completion}]], solution=[gold]) == [expected]   # conversational, `solution` column


@pytest.mark.parametrize("completion,think_in_prompt,fmt,tags", FORMAT)
def test_format_and_tags(completion, think_in_prompt, fmt, tags):
    assert format_reward([completion], think_in_prompt=think_in_prompt) == [fmt]
    assert tag_count_reward([completion], think_in_prompt=think_in_prompt) == [tags]
    funcs, _ = get_reward_funcs(["format", "tag_count"], think_in_prompt=think_in_prompt)   # what training gets from the registry
    assert [f([completion])[0] for f in funcs] == [fmt, tags] and [f.__name__ for f in funcs] == ["format_reward", "tag_count_reward"]


def test_only_a_missing_gold_gives_none():
    assert accuracy_reward(["\\boxed{1}"] * 5, answer=["", None, "  ", "#### ", "not a number"]) == [None, None, None, None, 0.0]


def test_accuracy_never_raises_on_garbage():
    "Random fragments of LaTeX, tags and numbers, as a degenerate student writes them: always 0.0 or 1.0 for a real gold."
    rng = random.Random(5)
    bits = ["\\boxed{", "}", "{", "\\frac{1}{2}", "####", "<answer>", "</answer>", " or ", " and ", ",", "1,000", "$", "\\text{",
            "yes", "final answer is", "\n", "3", "x^2", "(", ")", "\\", "😀", "\udc80"]
    for _ in range(300):
        comp = "".join(rng.choice(bits) for _ in range(rng.randint(0, 30)))
        gold = rng.choice(["3", "yes", "2,3", "\\frac{1}{2}", "(1, 2)"])
        assert accuracy_reward([comp], answer=[gold])[0] in (0.0, 1.0), comp


if __name__ == "__main__":   # the count for the issue note, on whatever rlkd_nb is importable
    def run(f):
        try: return f()
        except Exception as e: return type(e).__name__
    acc = [run(lambda: accuracy_reward([c], answer=[g])[0]) == e for g, c, e in ACCURACY]
    fmt = [run(lambda: format_reward([c], think_in_prompt=t)[0]) == f for c, t, f, _ in FORMAT]
    tag = [run(lambda: tag_count_reward([c], think_in_prompt=t)[0]) == n for c, t, _, n in FORMAT]
    print(f"accuracy {sum(acc)}/{len(acc)}, format {sum(fmt)}/{len(fmt)}, tag_count {sum(tag)}/{len(tag)}")
    print("accuracy cases judged differently:", [(g, c) for (g, c, _), ok in zip(ACCURACY, acc) if not ok])


# ---- the quick "clearly unequal" check in front of math-verify ---------------------------------------------------
QUICK_CASES = ["1/2", "0.5", r"\frac{1}{2}", "2/4", "0.50", "50%", "50", "0.333333", "1/3", r"\frac{1}{3}", "x^2", "x*x", "x^3",
               "2x+1", "1+2x", r"\sqrt{4}", "2", "-2", r"\pi", "3.14159265", "3.14", "x=5", "5", "(1,2)", r"\{1,2\}", "[1,2]",
               r"e^{i\pi}", "-1", r"\binom{6}{3}", "20", "6!/(3!3!)", "k(k+1)/2", r"\frac{k^2+k}{2}", "n!", "(-1)^k", "yes",
               "Monday", "10^{100}", "10^{100}+1", "1e-7", "2e-7"]


def test_quick_unequal_check_agrees_with_math_verify():
    "On values math-verify judges right, skipping `verify` for clearly different values changes no verdict (1,640 pairs, both ways)."
    from rlkd_nb.judges import _mv_equal
    pairs = [(x, y) for x in QUICK_CASES for y in QUICK_CASES if x != y]
    quick = [_mv_equal(x, y) for x, y in pairs]
    assert quick == [_mv_equal(x, y, quick=False) for x, y in pairs]
    assert sum(quick) >= 40                  # the list holds many equal pairs (1/2 = 0.5 = 2/4 = ..., x^2 = x*x, ...)


def test_quick_check_fixes_a_math_verify_false_positive():
    "math-verify calls 4026!/(2^4027 * 2013!) (about 1.8e5776) equal to 4028!/(2014!)^2 (about 4.4e1210): its evalf of the difference is 0."
    from rlkd_nb.judges import _mv_equal, answers_equal
    a, b = "$4026!/(2^{4027} \\cdot 2013!)$", r"$\frac{4028!}{(2014!)^2}$"
    assert _mv_equal(a, b, quick=False) and not _mv_equal(a, b) and not answers_equal(a, b)
