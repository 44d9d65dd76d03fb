"""core.write_atomic in real processes: permissions follow the umask, and a writer killed by SIGTERM mid-write leaves
no temp file and still dies of SIGTERM (or runs the handler that was installed before)."""
import os, signal, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import os, signal, sys, time
sys.path.insert(0, {root!r})
from rlkd_nb import core
if {own_handler}:
    def handler(signum, frame): print("own handler ran", flush=True); sys.exit(7)
    signal.signal(signal.SIGTERM, handler)
core.write_atomic({out!r} + ".first", "x")          # installs the SIGTERM watcher
if {chained}:                                        # a library that installs its own handler, chaining to ours...
    ours = signal.getsignal(signal.SIGTERM)
    def theirs(signum, frame): ours(signum, frame); print("own handler ran", flush=True); sys.exit(7)
    signal.signal(signal.SIGTERM, theirs)
def slow_fsync(fd): print("writing", flush=True); time.sleep(60)
os.fsync = slow_fsync
core.write_atomic({out!r}, "y" * 100_000)
"""


def _child(tmp_path, own_handler=False, chained=False):
    code = CHILD.format(root=str(ROOT), out=str(tmp_path / "out.txt"), own_handler=own_handler, chained=chained)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "writing", p.stderr.read()
    assert [f.name for f in tmp_path.iterdir() if f.name.endswith(".tmp")], "the temp file exists while the write hangs"
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=60)
    return rc, p.stdout.read()


def test_sigterm_mid_write_removes_the_temp_file(tmp_path):
    rc, _ = _child(tmp_path)
    assert rc == -signal.SIGTERM                                        # still killed by the signal
    assert sorted(f.name for f in tmp_path.iterdir()) == ["out.txt.first"]   # no temp file, no partial output


@pytest.mark.parametrize("how", ["before", "chained"])
def test_sigterm_hands_on_to_the_previous_handler(tmp_path, how):
    "A handler installed before the first write runs after the cleanup; one that chains back to ours (installed after it,"
    " then wrapped again by the next write) runs once, without going round in circles."
    rc, out = _child(tmp_path, own_handler=how == "before", chained=how == "chained")
    assert rc == 7 and out.count("own handler ran") == 1
    assert sorted(f.name for f in tmp_path.iterdir()) == ["out.txt.first"]


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask(tmp_path, umask, mode):
    code = f"import os, sys; sys.path.insert(0, {str(ROOT)!r}); os.umask({umask}); from rlkd_nb.core import write_atomic; write_atomic({str(tmp_path / 'f.txt')!r}, 'x')"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == mode


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    from rlkd_nb import core
    f = core.write_atomic(tmp_path / "a.json", "old")
    def boom(fd): raise OSError(28, "No space left on device")
    monkeypatch.setattr(core.os, "fsync", boom)
    with pytest.raises(OSError, match="No space left"):
        core.write_atomic(f, "new" * 1000)
    assert f.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.json"] and core._LIVE_TEMPS == {}


def test_long_names_still_get_a_temp_file(tmp_path):
    from rlkd_nb.core import write_atomic
    name = "r" * 240 + ".jsonl"      # fits a file system (255 bytes), but a temp name built from all of it would not
    assert write_atomic(tmp_path / name, "x").read_text() == "x"


def test_output_equal_to_input_is_refused(tmp_path):
    from rlkd_nb.core import check_not_input, same_file
    (tmp_path / "in.jsonl").write_text("{}\n")
    os.link(tmp_path / "in.jsonl", tmp_path / "hard.jsonl")
    assert same_file(tmp_path / "hard.jsonl", tmp_path / "in.jsonl")       # a hard link is the same file
    with pytest.raises(ValueError, match=r"is the input file .*in\.jsonl: choose another output path"):
        check_not_input(tmp_path / "hard.jsonl", tmp_path / "in.jsonl")
    check_not_input(tmp_path / "new.jsonl", tmp_path / "in.jsonl", None)
