"""Worker processes end with the scorer, even when it is killed with SIGKILL."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from neurodx.scoring import map_unordered

ROOT = Path(__file__).resolve().parents[2]


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait long for its reaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _square(shared, task):
    return shared * task * task


def test_map_unordered_gives_every_result():
    assert sorted(map_unordered(_square, 2, [1, 2, 3], n_jobs=1)) == [2, 8, 18]


SCORER = """
from neurodx.scoring.executors import map_unordered

if __name__ == "__main__":
    for _ in map_unordered(work, None, [0, 1], n_jobs=2):
        pass
"""
# Any joblib Parallel run by a command (inspect, compare, train, features --jobs N).
COMMAND = """
from joblib import Parallel, delayed
from neurodx._workers import workers_end_with_this_process

if __name__ == "__main__":
    with workers_end_with_this_process():
        Parallel(n_jobs=2)(delayed(work)(None, i) for i in range(2))
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("main_part", [SCORER, COMMAND], ids=["score", "command"])
def test_joblib_workers_end_when_the_parent_is_killed(tmp_path, main_part):
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import os, time

        def work(shared, task):
            open(os.path.join({str(tmp_path)!r}, f"worker-{{os.getpid()}}"), "w").close()
            time.sleep(300)
    """) + main_part)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script)], env=env)
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("worker-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = [int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")]
        assert len(workers) == 2, "workers did not start"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 15
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [pid for pid in workers if _running(pid)]
    for pid in alive:                 # leave nothing behind, whatever the outcome
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers {alive} outlived the killed parent"
