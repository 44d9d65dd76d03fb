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
