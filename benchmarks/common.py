"""Shared helpers of the benchmarks: machine description, child processes with their
peak memory, SYNTHETIC data generation, result files and tables.

Every benchmark measures the variants it compares side by side in the same run
(interleaved repetitions, median kept) and reports ratios: the machine is shared,
so absolute seconds move with the load while ratios stay put.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / ".data"          # SYNTHETIC recordings and scans, gitignored
RESULTS = HERE / "results"

# Workers started by joblib (loky) and Dask import the workloads of this folder.
if str(HERE) not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)

#: The HC/FES/CHR study's bands (configs/hc_fes_chr_eeg.yaml), 2-s windows, 50 % overlap.
BANDS = {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 13.0),
         "beta": (13.0, 30.0), "low_gamma": (30.0, 45.0)}
WINDOW = 2.0
OVERLAP = 0.5
#: The study's recordings: 64 channels, 1000 Hz, 5 minutes.
CHANNELS = 64
SFREQ = 1000.0
STUDY_DURATION = 300.0
STUDY_N_RECORDINGS = 120


# ---------------------------------------------------------------------------- machine
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    return None


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version
        return version(module)
    except Exception:  # noqa: BLE001 - not installed
        return None


def _git(*args) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def machine_info() -> dict:
    """CPU, cores, RAM, load, library versions and the BLAS in use."""
    blas = None
    try:
        import numpy  # noqa: F401 - loads the BLAS that threadpoolctl reports
        from threadpoolctl import threadpool_info
        blas = sorted({f"{i['internal_api']} {i.get('version') or ''} "
                       f"({i.get('architecture') or i['user_api']}, {i['num_threads']} threads)"
                       .replace("  ", " ")
                       for i in threadpool_info() if i["user_api"] == "blas"})
    except Exception:  # noqa: BLE001
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores_available": cores,
        "ram_gib": _mem_total_gib(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {m: _version(m) for m in ("neurodx", "numpy", "scipy", "mne", "pyriemann",
                                             "scikit-learn", "torch", "joblib", "dask",
                                             "distributed")},
        "blas": blas,
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def rss_mb() -> float:
    """Current resident memory of this process (MB), from /proc."""
    return _proc_status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB), from /proc."""
    return _proc_status_mb("VmHWM")


def _proc_status_mb(key: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------- children
def run_process(cmd: list[str], *, timeout: float = 900.0, env: dict | None = None,
                stream: bool = False, cwd: Path | None = None) -> dict:
    """Run a command to completion; wall time, exit code, output, peak RSS and CPU time.

    Peak resident memory and CPU seconds come from ``wait4`` on that very process
    (for memory: the largest of it and the descendants it waited for), so
    consecutive runs never share a high-water mark. ``stream`` echoes the output
    line by line as it comes. ``cwd``: the working directory (default the repository;
    ``python -m`` puts it first on ``sys.path``, before ``PYTHONPATH``).
    """
    tic = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=cwd or REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    chunks = []

    def read():
        if not stream:
            chunks.append(proc.stdout.read())
            return
        for line in iter(proc.stdout.readline, b""):
            chunks.append(line)
            sys.stdout.write(line.decode(errors="replace"))
            sys.stdout.flush()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = tic + timeout
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            timed_out = True
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    wall = time.perf_counter() - tic
    reader.join(timeout=10)
    proc.stdout.close()
    return {"returncode": os.waitstatus_to_exitcode(status), "timed_out": timed_out,
            "output": b"".join(c for c in chunks if c).decode(errors="replace"),
            "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024,
            "cpu_s": usage.ru_utime + usage.ru_stime}


def run_child(argv: list[str], *, timeout: float = 900.0, env: dict | None = None) -> dict:
    """Run ``python argv...`` in a fresh process; return its JSON result and peak memory.

    The child writes a JSON object to the file named by ``$BENCH_RESULT`` (see
    :func:`child_result`); see :func:`run_process` for the memory and CPU figures.
    """
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out_path = f.name
    proc = run_process([sys.executable, *argv], timeout=timeout,
                       env={**(env or {}), "BENCH_RESULT": out_path})
    try:
        result = json.loads(Path(out_path).read_text())
    except (OSError, json.JSONDecodeError):
        result = None
    finally:
        Path(out_path).unlink(missing_ok=True)
    if proc["returncode"] != 0 or result is None:
        raise RuntimeError(f"child {' '.join(map(shlex.quote, argv))} failed "
                           f"(exit {proc['returncode']}):\n{proc['output'][-3000:]}")
    result["process_wall_s"] = proc["wall_s"]
    result["process_peak_rss_mb"] = proc["peak_rss_mb"]
    result["process_cpu_s"] = proc["cpu_s"]
    return result


def child_result(payload: dict) -> None:
    """Hand a child's result to :func:`run_child` (or print it when run by hand)."""
    target = os.environ.get("BENCH_RESULT")
    payload = {**payload, "child_peak_rss_mb": peak_rss_mb()}
    if target:
        Path(target).write_text(json.dumps(payload))
    else:
        print(json.dumps(payload, indent=2))


# ---------------------------------------------------------------------------- data
def eeg_recordings(duration: float, n: int, *, seed: int = 0, n_jobs: int = 2) -> list[Path]:
    """``n`` SYNTHETIC 64-channel 1000 Hz EDF recordings of ``duration`` s (cached)."""
    folder = DATA / f"eeg_{CHANNELS}ch_{int(SFREQ)}hz_{duration:g}s_n{n}_seed{seed}"
    marker = folder / "simulation.json"
    if not marker.is_file():
        from neurodx.simulate import simulate_eeg_cohort

        tic = time.perf_counter()
        simulate_eeg_cohort(folder, groups=("HC",), subjects_per_group=n, channels=CHANNELS,
                            sfreq=SFREQ, duration=duration, seed=seed, n_jobs=n_jobs)
        print(f"  simulated {n} SYNTHETIC EEG recording(s) of {duration:g} s into "
              f"{folder.relative_to(REPO)} ({time.perf_counter() - tic:.1f} s)", flush=True)
    paths = sorted(folder.glob("sub-*/eeg/*.edf"))
    if len(paths) != n:
        raise RuntimeError(f"{folder}: expected {n} EDF files, found {len(paths)}; delete the "
                           "folder to regenerate it")
    return paths


# ---------------------------------------------------------------------------- results
def median(values):
    values = sorted(values)
    n = len(values)
    if not n:
        return float("nan")
    return values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2])


def write_result(name: str, payload: dict, *, started: float) -> Path:
    """Write ``results/<name>.json`` with the machine description and the command."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "data": "SYNTHETIC (neurodx.simulate)",
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "finished_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_s": round(time.perf_counter() - started, 1),
        "machine": machine_info(),
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2, default=_json_default) + "\n")
    print(f"wrote {path.relative_to(REPO)}", flush=True)
    return path


def _json_default(obj):
    try:
        import numpy as np
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(type(obj).__name__)


def fmt(value, digits: int = 3) -> str:
    """A number for a table: significant digits, thousands separators, blanks for None."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def target_row(name: str, measured: float, goal: float, *, at_most: bool = True,
               unit: str = "") -> dict:
    """One row of a targets table; ``factor_off`` > 1: missed by that factor."""
    return {"target": name, "goal": f"{'<=' if at_most else '>='} {goal}{unit}",
            "measured": measured, "met": measured <= goal if at_most else measured >= goal,
            "factor_off": measured / goal if at_most else goal / measured}


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A Markdown table (also readable in a terminal) of ``rows`` for ``(key, title)``."""
    head = "| " + " | ".join(t for _, t in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(r.get(k)) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])
