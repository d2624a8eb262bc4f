"""Benchmark 4: batch scoring end to end through ``neurodx score`` (recordings/min, scans/min).

Runs only if ``neurodx score --help`` and ``neurodx train --help`` work; otherwise it
prints and records ``skipped: neurodx score not available`` (no numbers).

Setup (timed, not scored): SYNTHETIC cohorts written by ``neurodx simulate``, and one
bundle per study trained by ``neurodx train`` -- the study's full-size network
architectures, trained for 1 epoch on a few small subjects (scoring cost depends on
the architecture and the input, not on how well the weights were trained):

* EEG: ``hc_fes_chr_eeg`` route ``rmt_les``, trained on 6 recordings of 30 s;
  scores N study-size recordings (64 x 300,000, 5 min at 1000 Hz);
* fMRI: ``meth_fmri`` route ``per_slice_cnn`` (31 networks), trained on 4 runs of 2
  frames; scores full runs (64 x 64 x 31 x 240 frames);
* CT: ``brain_ct`` route ``cnn7`` (7 conv layers, 256 x 256, 3 HU windows), trained on
  4 DICOM series; scores DICOM series of 12 slices.

Measured side by side in the same run: EEG scoring against bare feature extraction
of the same recordings (``workloads.neurodx_features`` on joblib, same worker
count); fMRI/CT scoring against the time the scans' FLOPs take at the matmul
throughput measured in the same run.

    .venv/bin/python benchmarks/bench_score.py [--jobs 2] [--eeg-recordings 4]
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path

from common import (DATA, STUDY_DURATION, eeg_recordings, median, run_child, run_process, table,
                    write_result)

NEURODX = str(Path(sys.executable).parent / "neurodx")
SKIPPED = "skipped: neurodx score not available"


class StepFailed(RuntimeError):
    pass


def step(cmd: list[str], what: str, timeout: float = 900.0) -> dict:
    res = run_process(cmd, timeout=timeout)
    if res["returncode"] != 0:
        tail = "\n".join(res["output"].strip().splitlines()[-5:])
        raise StepFailed(f"{what} failed (exit {res['returncode']}): {tail}")
    return res


def available() -> tuple[bool, str]:
    for sub in ("score", "train"):
        res = run_process([NEURODX, sub, "--help"], timeout=120)
        if res["returncode"] != 0:
            return False, f"`neurodx {sub} --help` exited {res['returncode']}: " \
                          f"{res['output'].strip().splitlines()[-1:]}"
    return True, ""


def simulate(kind: str, out: Path, args: list[str]) -> float:
    if (out / "participants.tsv").is_file():
        return 0.0
    if out.exists():
        shutil.rmtree(out)
    res = step([NEURODX, "simulate", kind, "--out", str(out), *args, "--jobs", "2"],
               f"neurodx simulate {kind}")
    return res["wall_s"]


def train(config: str, route: str, cohort: Path, bundle: Path, sets: list[str]) -> float:
    cmd = [NEURODX, "train", config, "--route", route, "--cohort", str(cohort), "--out",
           str(bundle), "--jobs", "2"]
    for s in sets:
        cmd += ["--set", s]
    return step(cmd, f"neurodx train {config} --route {route}")["wall_s"]


def score(bundle: Path, inputs: Path, out: Path, jobs: int) -> dict:
    for p in (out, out.with_name(out.name + ".journal.jsonl")):
        p.unlink(missing_ok=True)
    res = step([NEURODX, "score", str(bundle), str(inputs), "--out", str(out), "--jobs",
                str(jobs), "--no-progress"], f"neurodx score {bundle.name}")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    n_ok = sum(r.get("status") == "ok" for r in rows)
    return {"inputs": len(rows), "ok": n_ok, "wall_s": res["wall_s"],
            "peak_rss_mb": res["peak_rss_mb"], "cpu_s": res["cpu_s"],
            "per_minute": 60.0 * n_ok / res["wall_s"] if n_ok else 0.0,
            "s_per_input": res["wall_s"] / max(n_ok, 1)}


def flop_floor() -> dict:
    """Forward FLOPs per slice of the scored networks and the matmul throughput now."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from bench_cnn import matmul_gflops
    from neurodx.models import FMRI_SLICE_CNN, SliceCNN, ct_slice_cnn

    torch.set_num_threads(2)
    out = {}
    for name, net, shape in (("fmri", SliceCNN(2, **FMRI_SLICE_CNN), (1, 64, 64)),
                             ("ct", ct_slice_cnn(2, in_channels=3), (3, 256, 256))):
        with FlopCounterMode(display=False) as fc:
            net.eval()(torch.zeros(1, *shape))
        out[name] = fc.get_total_flops()
    out["matmul_gflops"] = matmul_gflops()
    return out


def run(args) -> dict:
    ok, why = available()
    if not ok:
        return {"status": SKIPPED, "reason": why}
    root = DATA / "score"
    bundles = root / "bundles"
    setup = {}
    # -- SYNTHETIC cohorts
    setup["simulate_s"] = sum([
        simulate("eeg", root / "eeg_train", ["--groups", "HC", "FES", "CHR",
                                             "--subjects-per-group", "2", "--channels", "64",
                                             "--sfreq", "1000", "--duration", "30",
                                             "--seed", "1"]),
        simulate("fmri", root / "fmri_train", ["--groups", "HC", "MA", "--subjects-per-group",
                                               "2", "--frames", "2", "--seed", "1"]),
        simulate("fmri", root / f"fmri_score_n{args.fmri_scans}", ["--groups", "HC", "MA",
                                                                     "--subjects-per-group",
                                               str(args.fmri_scans // 2), "--frames", "240",
                                               "--seed", "2"]),
        simulate("ct", root / "ct_train", ["--groups", "normal", "hemorrhage",
                                           "--subjects-per-group", "2", "--format", "dicom",
                                           "--seed", "1"]),
        simulate("ct", root / f"ct_score_n{args.ct_scans}", ["--groups", "normal", "hemorrhage",
                                           "--subjects-per-group", str(args.ct_scans // 2),
                                           "--format", "dicom", "--seed", "2"]),
    ])
    eeg_paths = eeg_recordings(STUDY_DURATION, args.eeg_recordings)
    eeg_cohort = eeg_paths[0].parents[2]
    # -- bundles (retrained every run: a fresh clone has none, and the code may have moved)
    if bundles.exists():
        shutil.rmtree(bundles)
    setup["train_s"] = {
        "eeg": train("configs/hc_fes_chr_eeg.yaml", "rmt_les", root / "eeg_train",
                     bundles / "eeg", []),
        "fmri": train("configs/meth_fmri.yaml", "per_slice_cnn", root / "fmri_train",
                      bundles / "fmri", ["routes.per_slice_cnn.epochs=1",
                                         "routes.per_slice_cnn.progress=false"]),
        "ct": train("configs/brain_ct.yaml", "cnn7", root / "ct_train", bundles / "ct",
                    ["routes.cnn7.epochs=1", "routes.cnn7.progress=false"]),
    }
    # -- scoring, side by side with its references
    floor_before = flop_floor()
    eeg = score(bundles / "eeg", eeg_cohort, root / "eeg_scores.csv", args.jobs)
    features = run_child(["benchmarks/bench_cohort.py", "--child", json.dumps(
        {"mode": "executor", "kind": "joblib", "workers": args.jobs,
         "paths": [str(p) for p in eeg_paths]})])
    fmri = score(bundles / "fmri", root / f"fmri_score_n{args.fmri_scans}",
                 root / "fmri_scores.csv", args.jobs)
    ct = score(bundles / "ct", root / f"ct_score_n{args.ct_scans}", root / "ct_scores.csv",
               args.jobs)
    floor_after = flop_floor()
    gflops = median([floor_before["matmul_gflops"], floor_after["matmul_gflops"]])

    eeg.update(modality="EEG 64 x 300,000 (5 min)", bundle="hc_fes_chr_eeg / rmt_les",
               unit="recordings", reference="bare features, joblib same workers",
               reference_s=features["wall_s"], over_reference=eeg["wall_s"] / features["wall_s"])
    fmri_slices, ct_slices = 31 * 240, 12
    for res, name, slices, flops, bundle in (
            (fmri, "fMRI 64 x 64 x 31 x 240", fmri_slices, floor_before["fmri"],
             "meth_fmri / per_slice_cnn"),
            (ct, "CT 256 x 256 x 12 (DICOM)", ct_slices, floor_before["ct"], "brain_ct / cnn7")):
        floor_s = res["ok"] * slices * flops / 1e9 / gflops
        res.update(modality=name, bundle=bundle, unit="scans",
                   reference="all forward FLOPs at matmul peak", reference_s=floor_s,
                   over_reference=res["wall_s"] / floor_s if floor_s else None)
    return {"status": "measured", "jobs": args.jobs, "rows": [eeg, fmri, ct], "setup": setup,
            "matmul_gflops": gflops, "flops_per_slice": {"fmri": floor_before["fmri"],
                                                         "ct": floor_before["ct"]},
            "eeg_features_reference": {k: features[k] for k in ("wall_s", "work_s")}}


COLUMNS = [("modality", "input"), ("bundle", "bundle"), ("ok", "scored"),
           ("wall_s", "wall s"), ("per_minute", "per minute"), ("s_per_input", "s each"),
           ("peak_rss_mb", "peak RSS MB"), ("reference", "reference (same run)"),
           ("reference_s", "reference s"), ("over_reference", "score / reference")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--eeg-recordings", type=int, default=4)
    parser.add_argument("--fmri-scans", type=int, default=2)
    parser.add_argument("--ct-scans", type=int, default=8)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print("== benchmark 4: batch scoring through `neurodx score`", flush=True)
    try:
        doc = run(args)
    except StepFailed as err:
        doc = {"status": f"failed: {err}"}
    if doc["status"] == "measured":
        print(table(doc["rows"], COLUMNS))
    else:
        print(doc["status"] + (f" ({doc['reason']})" if doc.get("reason") else ""))
    write_result("score", doc, started=started)


if __name__ == "__main__":
    main()
