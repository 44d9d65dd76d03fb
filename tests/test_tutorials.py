"""Every tutorial runs top to bottom on its CPU path, one test per tutorial, timed.

`RLKD_SMALL=1` selects the short path of the tutorials whose full version takes longer than a couple of minutes;
cells flagged `#| slow` / `#| gpu` are skipped as nbdev-test skips them. Each run is a separate `nbdev-test` process;
its wall time and its CPU time (user + system of the child, so other work on a shared machine does not count) are
recorded as test properties and printed in the terminal summary by `conftest.pytest_terminal_summary`. Speed targets
are not asserted here (a timed test fails on a busy machine for the wrong reason); the times are for reading.
"""
import os, resource, subprocess, sys, time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9]*.ipynb"))


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def test_tutorials_found():
    "The numbered tutorials exist and each says at the top what it needs."
    import json
    assert len(TUTORIALS) >= 7, [p.name for p in TUTORIALS]
    for nb in TUTORIALS:
        head = "".join(json.loads(nb.read_text())["cells"][0]["source"])
        assert head.startswith("# Tutorial"), f"{nb.name}: the first cell is not the tutorial's title"
        assert any(w in head for w in ("CPU", "GPU")), f"{nb.name}: the first cell does not say what hardware it needs"
        assert any(w in head for w in ("minute", "second")), f"{nb.name}: the first cell does not say how long it takes"


@pytest.mark.slow
@pytest.mark.parametrize("nb", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(nb, record_property):
    env = {**os.environ, "RLKD_SMALL": "1"}
    t0, c0 = time.time(), _child_cpu()
    r = subprocess.run([str(BIN / "nbdev-test"), "--n-workers", "1", str(nb)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=1800)
    record_property("tutorial", nb.name)
    record_property("wall_s", round(time.time() - t0, 1))
    record_property("cpu_s", round(_child_cpu() - c0, 1))
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
