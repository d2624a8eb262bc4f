"""Independent CT peer: a tutorial-size plain PyTorch CNN on the folds of a neurodx run.

Three 5x5 convolution + max-pool blocks and two linear layers (the size of the
PyTorch "training a classifier" tutorial network) on 128 x 128 grey slices
scaled to [0, 1]; every slice carries its patient's label; a patient's
probability is the mean over its slices. Slices are read with Pillow and
ordered by the number in their name, without neurodx's readers. Only the fold
assignment (the run's ``predictions.csv``) and the scoring functions come from
neurodx, so the figures sit beside the routes' on the same patients and splits.

    python validation/peers/ct_plain_cnn.py COHORT RUN_DIR [--epochs 5]
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _folds import folds_of_run, run_subjects, score_peer  # noqa: E402

NAME = "plain_cnn"
SIZE = 128


class TutorialCNN(nn.Module):
    """conv(8) - pool - conv(16) - pool - conv(32) - pool - fc(64) - fc(n_classes)."""

    def __init__(self, n_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * (SIZE // 8) ** 2, 64), nn.ReLU(),
                                  nn.Linear(64, n_classes))

    def forward(self, x):
        return self.head(self.features(x))


def read_slices(folder: Path) -> np.ndarray:
    """``(n_slices, SIZE, SIZE)`` float32 in [0, 1], ordered by the last number in the name."""
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")),
                   key=lambda p: int(re.findall(r"\d+", p.stem)[-1]))
    return np.stack([np.asarray(Image.open(f).convert("L").resize((SIZE, SIZE), Image.BILINEAR),
                                dtype=np.float32) / 255.0 for f in files])


def fit_predict(x_train, y_train, x_test, n_classes, epochs, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = TutorialCNN(n_classes)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    # Classes weighted by slice counts: patients (and their slices) are unbalanced.
    counts = np.bincount(y_train, minlength=n_classes)
    weight = len(y_train) / (n_classes * np.maximum(counts, 1))
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weight, dtype=torch.float32))
    xt, yt = torch.from_numpy(x_train[:, None]), torch.from_numpy(y_train)
    net.train()
    for _ in range(epochs):
        order = rng.permutation(len(yt))
        for start in range(0, len(order), 32):
            idx = torch.from_numpy(order[start:start + 32])
            opt.zero_grad()
            loss_fn(net(xt[idx]), yt[idx]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        return torch.softmax(net(torch.from_numpy(x_test[:, None])), dim=1).numpy()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cohort", type=Path)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bootstrap", type=int, default=1000)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    subjects = run_subjects(args.run_dir, args.cohort)
    slices = {r.participant_id: read_slices(args.cohort / r.path) for r in subjects.itertuples()}
    group = dict(zip(subjects["participant_id"], subjects["group"]))
    classes = sorted(set(group.values()))
    rows = []
    for repeat, fold, train, test in folds_of_run(args.run_dir, subjects["participant_id"]):
        x_train = np.concatenate([slices[s] for s in train])
        y_train = np.concatenate([[classes.index(group[s])] * len(slices[s]) for s in train])
        x_test = np.concatenate([slices[s] for s in test])
        proba = fit_predict(x_train, y_train.astype(np.int64), x_test, len(classes), args.epochs,
                            args.seed + 1000 * repeat + fold)
        bounds = np.cumsum([0] + [len(slices[s]) for s in test])
        for k, sid in enumerate(test):
            p = proba[bounds[k]:bounds[k + 1]].mean(axis=0)
            rows.append({"participant_id": sid, "repeat": repeat, "fold": fold, "route": NAME,
                         "true": group[sid], "predicted": classes[int(np.argmax(p))],
                         **{f"proba_{c}": float(v) for c, v in zip(classes, p)}})
    m = score_peer(args.run_dir, pd.DataFrame(rows), NAME,
                   f"plain PyTorch tutorial-size CNN (3 conv + 2 linear), {SIZE}x{SIZE} slices, "
                   f"{args.epochs} epochs, mean slice probability per patient",
                   time.perf_counter() - start, n_boot=args.bootstrap, seed=args.seed)
    print(f"{NAME}: balanced accuracy {m['balanced_accuracy']:.3f} "
          f"[{m['ci']['balanced_accuracy'][0]:.3f}, {m['ci']['balanced_accuracy'][1]:.3f}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
