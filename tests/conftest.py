import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("RLKD_DEV_DATA", ROOT.parent / "shared" / "data"))   # dev data: ../shared/data, or where RLKD_DEV_DATA says
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


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


def pytest_terminal_summary(terminalreporter):
    "Print each tutorial's run time (tests/test_tutorials.py records them as test properties)."
    rows = [dict(r.user_properties) for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])
            if getattr(r, "when", "") == "call" and "wall_s" in dict(getattr(r, "user_properties", []))]
    if not rows: return
    terminalreporter.write_sep("-", "tutorial run times (CPU path, RLKD_SMALL=1)")
    for d in sorted(rows, key=lambda d: d["tutorial"]):
        terminalreporter.write_line(f"{d['tutorial']:32s} {d['wall_s']:7.1f} s wall  {d['cpu_s']:7.1f} s CPU")
    terminalreporter.write_line(f"{'all tutorials':32s} {sum(d['wall_s'] for d in rows):7.1f} s wall  {sum(d['cpu_s'] for d in rows):7.1f} s CPU")
