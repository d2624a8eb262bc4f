"""Run every benchmark (each in its own process, as it runs alone), then rebuild the
results section of ``benchmarks/README.md`` from ``benchmarks/results/*.json``.

    .venv/bin/python benchmarks/run_all.py            # what `make bench` runs
    .venv/bin/python benchmarks/run_all.py --only cnn score
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from common import RESULTS, machine_info, run_process

BENCHMARKS = {
    "rmt_recording": "benchmarks/bench_rmt_recording.py",
    "cohort": "benchmarks/bench_cohort.py",
    "cnn": "benchmarks/bench_cnn.py",
    "score": "benchmarks/bench_score.py",
    "features": "benchmarks/bench_features.py",
    "region": "benchmarks/bench_region.py",
}
# Arguments per benchmark: the region study's target (issue 17) is the whole `compare`
# of the study, 5-fold with nested C tuning and no permutations (the config's 4 x 3
# folds and 50 permutations are the study's own run, not the target's)
ARGS = {
    "region": ["--full", "--set", "cv.n_splits=5", "--set", "cv.n_repeats=1",
               "--set", "statistics.permutations=0"],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), metavar="NAME",
                        help=f"run only these ({', '.join(BENCHMARKS)})")
    args = parser.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    started = time.perf_counter()
    load_before = os.getloadavg()
    walls, failed = {}, []
    for name in names:
        tic = time.perf_counter()
        # stream the benchmark's own output as it goes
        res = run_process([sys.executable, "-u", BENCHMARKS[name], *ARGS.get(name, [])],
                          timeout=3600,
                          env={"PYTHONWARNINGS": "ignore"}, stream=True)
        walls[name] = round(time.perf_counter() - tic, 1)
        if res["returncode"] != 0:
            failed.append(name)
            print(f"!! {name} failed (exit {res['returncode']})", flush=True)
    total = time.perf_counter() - started
    summary = {"benchmarks": names, "wall_s": walls, "total_wall_s": round(total, 1),
               "failed": failed, "load_average_before": [round(x, 2) for x in load_before],
               "load_average_after": [round(x, 2) for x in os.getloadavg()],
               "command": "make bench" if os.environ.get("MAKELEVEL") else
               " ".join([os.path.basename(sys.executable), *sys.argv]),
               "machine": machine_info()}
    if not args.only:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "run_all.json").write_text(json.dumps(summary, indent=2) + "\n")
    parts = ", ".join(f"{k} {v:.0f} s" for k, v in walls.items())
    print(f"total wall time {total / 60:.1f} min ({parts})")
    from render_readme import render
    render()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
