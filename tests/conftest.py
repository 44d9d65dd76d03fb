import atexit, contextlib, fcntl, os, shutil, sys, tempfile, time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("RLKD_DEV_DATA", ROOT.parent / "shared" / "data"))   # dev data: ../shared/data, or where RLKD_DEV_DATA says
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

# pytest-xdist (the README runs `pytest -n 2`): each worker process sets PYTEST_XDIST_WORKER (gw0, gw1, ...).
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if WORKER:
    # One torch/OpenMP thread per worker: two workers with two threads each on two cores spin against each other.
    # Set before torch is imported (the test modules import it); subprocesses (CLI, nbdev-test) inherit it too.
    for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"): os.environ.setdefault(_v, "1")
    # A temp folder per worker and run: notebooks and tutorials write fixed names under tempfile.gettempdir()
    # (e.g. rlkd-tutorial-04), and a tutorial may run in one worker while the docs build runs it in the other.
    WORKER_TMP = Path(tempfile.gettempdir()) / f"rlkd-tests-{os.environ.get('PYTEST_XDIST_TESTRUNUID', 'run')[:12]}-{WORKER}"
    WORKER_TMP.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(WORKER_TMP)
    tempfile.tempdir = None      # gettempdir() reads TMPDIR again
    # removed when the worker exits: registered first, so it runs after the exit handlers of what the tests import
    # (torch's inductor writes its cache folder there on the way out)
    atexit.register(shutil.rmtree, WORKER_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not DATA.exists(): pytest.skip(f"dev data not found at {DATA}")
    return DATA


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    d = Path(os.environ.get("RLKD_ARTIFACTS", ROOT / "artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def run_tmp(tmp_path_factory) -> Path:
    "A folder shared by every worker of this test run (the plain run's own temp folder when xdist is off)."
    base = tmp_path_factory.getbasetemp()
    return base.parent if WORKER else base


@pytest.fixture(scope="session")
def run_lock(run_tmp):
    "`with run_lock(name):` holds a lock shared by every worker of this run: for what two workers must not do at once."
    @contextlib.contextmanager
    def lock(name: str):
        with open(run_tmp / f"{name}.lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try: yield
            finally: fcntl.flock(f, fcntl.LOCK_UN)
    return lock


@pytest.fixture(autouse=True)
def _worker_threads():
    "Under xdist, every test starts with the worker's thread count (a test that trains with num_threads=2 leaves 2 behind)."
    if WORKER and "torch" in sys.modules and os.environ["OMP_NUM_THREADS"].isdigit():
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def pytest_addoption(parser):
    parser.addoption("--cpu-times", action="store_true",
                     help="record each test's CPU seconds (this process + the children it waited for, setup to teardown), "
                          "its xdist worker and its end time as test properties (in --junitxml; benchmarks/test_time.py reads them)")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.config.getoption("cpu_times"): item._cpu_t0 = _cpu()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    "With --cpu-times: the CPU seconds from the start of setup to the end of teardown, on the teardown report."
    outcome = yield
    if call.when == "teardown" and hasattr(item, "_cpu_t0"):
        outcome.get_result().user_properties += [("test_cpu_s", round(_cpu() - item._cpu_t0, 3)),
                                                 ("worker", WORKER or "main"), ("ended_at", round(time.time(), 2))]


def pytest_terminal_summary(terminalreporter):
    "Print each tutorial's run time (tests/test_tutorials.py records them as test properties)."
    rows = [dict(r.user_properties) for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])
            if getattr(r, "when", "") == "call" and "wall_s" in dict(getattr(r, "user_properties", []))]
    if not rows: return
    terminalreporter.write_sep("-", "tutorial run times (CPU path, RLKD_SMALL=1)")
    for d in sorted(rows, key=lambda d: d["tutorial"]):
        terminalreporter.write_line(f"{d['tutorial']:32s} {d['wall_s']:7.1f} s wall  {d['cpu_s']:7.1f} s CPU")
    terminalreporter.write_line(f"{'all tutorials':32s} {sum(d['wall_s'] for d in rows):7.1f} s wall  {sum(d['cpu_s'] for d in rows):7.1f} s CPU")
