"""The project's own consistency: notebooks exported and clean, README generated, README commands work."""
import importlib.util, json, os, re, shutil, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _readme_block(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"<!-- {marker} -->\s*```(?:bash|sh)?\n(.*?)```", text, re.S)
    assert m, f"README.md has no <!-- {marker} --> block"
    return m.group(1).strip()


def test_library_matches_notebooks(tmp_path):
    "nbdev-export of a copy of nbs/ reproduces rlkd_nb/ byte for byte: nobody edited the library by hand."
    shutil.copytree(ROOT / "nbs", tmp_path / "nbs")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "rlkd_nb").mkdir()
    shutil.copy(ROOT / "rlkd_nb" / "__init__.py", tmp_path / "rlkd_nb")
    subprocess.run([str(BIN / "nbdev-export")], cwd=tmp_path, check=True, capture_output=True)
    ours = {p.relative_to(ROOT / "rlkd_nb"): p.read_text() for p in (ROOT / "rlkd_nb").rglob("*.py")}
    theirs = {p.relative_to(tmp_path / "rlkd_nb"): p.read_text() for p in (tmp_path / "rlkd_nb").rglob("*.py")}
    assert set(theirs) <= set(ours), f"exported but not committed: {set(theirs) - set(ours)}"
    stale = [str(k) for k, v in theirs.items() if ours[k] != v]
    assert not stale, f"rlkd_nb/ differs from its notebooks: {stale}"


def test_notebooks_are_clean(tmp_path):
    "nbdev-clean changes nothing: no outputs' execution counts or stray metadata are committed (one run over copies)."
    nbs = sorted((ROOT / "nbs").glob("*.ipynb")) + sorted((ROOT / "tutorials").glob("*.ipynb"))
    assert nbs
    copies = {nb: tmp_path / nb.parent.name / nb.name for nb in nbs}
    for nb, cp in copies.items():
        cp.parent.mkdir(exist_ok=True)
        shutil.copy(nb, cp)
    r = subprocess.run([str(BIN / "nbdev-clean"), "--fname", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and "Failed to clean" not in r.stderr, r.stderr[-2000:]
    dirty = [f"{nb.parent.name}/{nb.name}" for nb, cp in copies.items() if json.loads(cp.read_text()) != json.loads(nb.read_text())]
    assert not dirty, f"not nbdev-clean: {dirty}"


def test_readme_is_generated_from_index():
    r = subprocess.run([sys.executable, str(ROOT / ".ci" / "make_readme.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ci_runs_the_readme_test_command():
    "`.ci/run` reads its command from the README, so the two cannot drift apart."
    ci = (ROOT / ".ci" / "run").read_text()
    assert "test-command" in ci
    cmd = _readme_block("test-command")
    assert "pytest" in cmd and "torch==" in cmd
    # its pytest options come from plugins the command installs: -n/--dist from pytest-xdist, in the dev extra
    import tomllib
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    opts = cmd.split("python -m pytest", 1)[1].split()
    if {"-n", "--dist", "--numprocesses"} & {o.split("=")[0] for o in opts}:
        assert ".[dev" in cmd and any(re.match(r"pytest-xdist\b", d) for d in dev), (cmd, dev)
    # benchmarks/test_time.py times the fast half with exactly these options
    spec = importlib.util.spec_from_file_location("bench_test_time", ROOT / "benchmarks" / "test_time.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.readme_pytest_args() == opts


def test_notebooks_run():
    "Every module notebook's fast cells run (nbdev-test skips cells flagged slow/gpu/notest); tutorials: tests/test_tutorials.py."
    r = subprocess.run([str(BIN / "nbdev-test"), "--n-workers", "1", "nbs"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]


@pytest.mark.slow
def test_readme_first_command_in_fresh_venv(tmp_path):
    "The README's first command, verbatim, in a brand-new virtual environment with nothing installed."
    cmd = _readme_block("install-command")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    work = tmp_path / "clone"
    # not what other tests write meanwhile (pytest -n 2): hypothesis's example database, screenshots, run folders
    shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".venv", "artifacts", "*.egg-info", "__pycache__", ".git", "outputs", "rlkd_demo",
                                                              "runs", ".hypothesis", ".pytest_cache"))
    r = subprocess.run(["bash", "-c", f"set -eo pipefail; {cmd}"], cwd=work, env=env, capture_output=True, text=True, timeout=3000)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "torch" in subprocess.run([str(venv / "bin" / "pip"), "list"], capture_output=True, text=True).stdout
    tv = subprocess.run([str(venv / "bin" / "python"), "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True).stdout
    assert "+cpu" in tv or "cu" not in tv, f"a CUDA torch was installed on a CPU machine: {tv}"
    # the first command's main job leaves its report behind
    report, metrics = work / "rlkd_demo" / "report.html", work / "rlkd_demo" / "metrics.json"
    assert report.exists() and metrics.exists(), "rlkd demo wrote no report"
    m = json.loads(metrics.read_text())
    assert m, "metrics.json is empty"
    assert "<script" not in report.read_text().lower(), "the report must be self-contained and script-free"
