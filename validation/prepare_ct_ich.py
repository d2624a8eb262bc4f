"""Prepare the head CT hemorrhage JPG slices (PhysioNet CT-ICH) as a neurodx cohort.

Source: ``lammih/MultiModal2`` at a pinned commit:
``Data/Brain/{Positiv,Negativ}/<patient><slice>.jpg``
(650 x 650 8-bit grey, brain window) and per-slice labels in
``DataPreprocessing/hemorrhage_diagnosis.csv``.

What is done (recorded in ``provenance.json``):

* labels come from the CSV, never from the folder names (they are the wrong way
  round: ``Positiv`` holds slices without hemorrhage); a patient is
  ``hemorrhage`` when any of its slices is, else ``none``;
* file names join patient and slice without a separator: the patient is the
  first 3 digits when the name starts with "1", else the first 2;
* each patient becomes one folder of slices ``sub-<patient>/ct/sub-<patient>_slice-<n>.jpg``
  (numbers not zero-padded: neurodx orders slices naturally by name); the
  bytes are copied unchanged;
* values are display grey levels of the brain window, not Hounsfield units;
* the per-slice labels go to ``slices.tsv`` (:mod:`neurodx.io.slice_labels`):
  ``slice`` is the 0-based position of the image among the patient's written
  slices in name order (what neurodx reads), ``label`` ``hemorrhage`` or ``none``.

    python validation/prepare_ct_ich.py MIRROR_ROOT OUT_DIR
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _snapshot import Snapshot, find_git_dir, write_participants, write_provenance  # noqa: E402

REPO = "lammih/MultiModal2"
COMMIT = "9721c6ee133598b4313fc5cc6cfd98089aed3314"
IMAGES = "Data/Brain"
LABELS = "DataPreprocessing/hemorrhage_diagnosis.csv"
SUBTYPES = ["Intraventricular", "Intraparenchymal", "Subarachnoid", "Epidural", "Subdural"]


def split_name(stem: str) -> tuple[int, int]:
    """``"4912"`` -> (49, 12); ``"1001"`` -> (100, 1): patient then slice number."""
    cut = 3 if stem.startswith("1") else 2
    return int(stem[:cut]), int(stem[cut:])


def prepare(git_dir: Path, out: Path, limit: int | None = None) -> dict:
    snap = Snapshot(git_dir, REPO, COMMIT)
    table = snap.read_csv(LABELS)
    table.columns = [c.strip() for c in table.columns]
    slice_labels = {(int(r.PatientNumber), int(r.SliceNumber)): int(r.No_Hemorrhage) == 0
                    for r in table.itertuples()}
    subtypes = table.groupby("PatientNumber")[SUBTYPES].max()
    images: dict[int, dict[int, str]] = {}
    unparsed = []
    for path in snap.list(IMAGES):
        stem = Path(path).stem
        if not path.lower().endswith(".jpg") or not stem.isdigit():
            unparsed.append(path)
            continue
        patient, number = split_name(stem)
        images.setdefault(patient, {})[number] = path
    patients = sorted(set(p for p, _ in slice_labels))
    if limit:
        # Smoke runs: the first patients of each class, so both classes are present.
        pos = [p for p in patients if any(v for (q, _), v in slice_labels.items() if q == p)]
        neg = [p for p in patients if p not in set(pos)]
        patients = sorted(pos[:limit] + neg[:limit])
    rows, no_image, no_label, absent, slice_rows = [], 0, [], [], []
    for patient in patients:
        pid = f"sub-{patient:03d}"
        folder = out / pid / "ct"
        numbers = sorted(n for (p, n) in slice_labels if p == patient)
        written = 0
        for number in numbers:
            src = images.get(patient, {}).get(number)
            if src is None:
                no_image += 1
                continue
            try:
                blob = snap.read(src)
            except FileNotFoundError:
                absent.append(src)
                continue
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{pid}_slice-{number}.jpg").write_bytes(blob)
            slice_rows.append(f"{pid}\t{written}\t"
                              f"{'hemorrhage' if slice_labels[(patient, number)] else 'none'}")
            written += 1
        no_label += [images[patient][n] for n in images.get(patient, {}) if n not in numbers]
        if not written:
            continue
        hemorrhage = any(slice_labels[(patient, n)] for n in numbers)
        rows.append({"participant_id": pid, "group": "hemorrhage" if hemorrhage else "none",
                     "n_slices": written, "path": f"{pid}/ct"})
    (out / "slices.tsv").write_text("participant_id\tslice\tlabel\n"
                                    + "".join(r + "\n" for r in slice_rows))
    write_participants(out, rows, "CT-ICH brain-window JPG slices (prepared by neurodx)",
                       "Hssayeni et al., PhysioNet CT-ICH, via https://github.com/" + REPO)
    counts = {g: sum(r["group"] == g for r in rows) for g in ("hemorrhage", "none")}
    positives = subtypes.loc[[int(r["participant_id"][4:]) for r in rows
                              if r["group"] == "hemorrhage"]]
    intra = int(((positives["Intraventricular"] + positives["Intraparenchymal"]) > 0).sum())
    n_slices = [r["n_slices"] for r in rows]
    record = {
        "name": "ct_ich",
        "title": "Head CT: intracranial hemorrhage vs none (JPG slices, brain window)",
        **snap.record(), "subjects": counts, "slices_written": sum(n_slices),
        "slices_per_patient": {"min": min(n_slices), "max": max(n_slices)},
        "labelled_slices_without_image": no_image, "images_without_label": no_label,
        "absent_from_snapshot": absent, "unparsed_files": unparsed,
        "hemorrhage_patients_with_intra_axial": intra,
        "quality_notes": [
            "Labels from hemorrhage_diagnosis.csv (a patient is positive if any slice is); the "
            "snapshot's Positiv/Negativ folder names are the wrong way round and are ignored.",
            f"{no_image} labelled slice(s) have no image; patients keep the slices that exist.",
            "Slices are 650 x 650 8-bit display grey levels of the brain window, not Hounsfield "
            "units: neurodx reads them as unit 'display' and gives the network the grey levels "
            "scaled to [0, 1] (no HU windows), each slice resized with its aspect kept and padded.",
            "Most slices of a hemorrhage patient show no bleed: slices.tsv keeps the CSV's "
            "per-slice labels, which the CNN routes train on (volume.slice_labels).",
            f"Slices per patient vary ({min(n_slices)}-{max(n_slices)}); the CNN route votes over "
            "whatever slices a patient has.",
            f"Of {counts['hemorrhage']} hemorrhage patients, {intra} have an intra-axial bleed "
            "(IPH/IVH); the rest extra-axial only (EDH/SDH/SAH).",
        ],
    }
    write_provenance(out, record)
    return record


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mirror", type=Path, help="mirror root holding lammih+MultiModal2/repo, "
                                              "or the snapshot's git directory")
    ap.add_argument("out", type=Path, help="cohort folder to write")
    ap.add_argument("--limit", type=int, default=None,
                    help="first N patients per class (smoke runs)")
    args = ap.parse_args(argv)
    rec = prepare(find_git_dir(args.mirror, REPO), args.out, args.limit)
    print(f"wrote {sum(rec['subjects'].values())} patients ({rec['subjects']}) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
