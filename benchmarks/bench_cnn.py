"""Benchmark 3: CNN training and inference throughput on the CPU, neurodx vs plain PyTorch.

Networks are the studies' (``neurodx/models/presets.py``): one member of the fMRI
per-position ensemble (``FMRI_SLICE_CNN``, 64x64, batch 128 for training, 256 for
inference as the estimators use), the 7-layer CT network on 256x256 slices with 3
HU windows as channels (``ct_slice_cnn``, batch 32 for training, 256 for
inference), and the 31-member ``PerPositionSliceEnsemble`` scoring one full fMRI
subject (240 frames x 31 slices). Inputs are SYNTHETIC slices from
``simulate_fmri_run`` and ``simulate_ct_volume``.

Each figure is measured side by side with a plain PyTorch eager loop on the same
network (same weights), repetitions interleaved: the plain loop runs the network
itself (NCHW, batch 256) and, as headroom rows, with the optimised settings
(channels_last, batch norm folded, bfloat16) at two batch sizes. neurodx's
``predict_items`` runs its inference copy (``neurodx.models.inference``: batch norm
folded, channels_last, cache-sized batches at most the estimators' 256). FLOPs per slice
come from ``torch.utils.flop_counter.FlopCounterMode``; the machine's matmul
throughput from a large float32 ``torch.mm`` measured in the same run.

    .venv/bin/python benchmarks/bench_cnn.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import copy
import os
import time

os.environ.setdefault("KINETO_LOG_LEVEL", "5")   # quiet torch profiler start/stop lines

import numpy as np  # noqa: E402
import torch  # noqa: E402

from common import median, table, target_row, write_result  # noqa: E402

THREADS = 2
TARGET_FMRI_SLICES_PER_S = 3000.0
TARGET_SUBJECT_S = 2.5
TARGET_CT_SLICES_PER_S = 100.0
MIN_VS_BEST_PLAIN = 0.95
FMRI_FRAMES, FMRI_SLICES = 240, 31


# ---------------------------------------------------------------------------- data
def fmri_volume(frames=FMRI_FRAMES, seed=0):
    from neurodx.simulate import simulate_fmri_run

    img, _ = simulate_fmri_run(shape=(64, 64, FMRI_SLICES), frames=frames, seed=seed)
    return img


def _fresh(a):
    """A float32 copy with standard C strides.

    ``np.ascontiguousarray(x[:, None])`` keeps a 0 stride on the new axis (numpy calls
    it contiguous); torch passes that stride on, and oneDNN then takes a slow path
    (about 1.7x slower convolutions here), which would handicap the plain loop.
    """
    out = np.empty(a.shape, dtype=np.float32)
    out[...] = a
    return out


def fmri_slices(img, n):
    """``n`` frame-normalised 64x64 slices ``(n, 1, 64, 64)`` of a SYNTHETIC run."""
    from neurodx.preprocessing.intensity import zscore_frames

    vol = zscore_frames(np.asarray(img.dataobj, dtype=np.float32))      # (x, y, z, t)
    planes = np.moveaxis(vol, (2, 3), (0, 1)).reshape(-1, 64, 64)      # (z * t, x, y)
    return _fresh(np.resize(planes, (n, 64, 64))[:, None])


def ct_slices(n, seeds=(0, 1, 2)):
    """``n`` SYNTHETIC CT slices as 3 HU windows ``(n, 3, 256, 256)``."""
    from neurodx.preprocessing.intensity import CTWindows
    from neurodx.simulate import simulate_ct_volume

    windows = CTWindows(("brain", "subdural", "bone"))
    out = []
    for s, lesion in zip(seeds, ("none", "infarct", "hemorrhage")):
        hu, _, _ = simulate_ct_volume(lesion, shape=(256, 256, 12), seed=s)
        out += [windows(hu[:, :, k].astype(np.float32)) for k in range(hu.shape[2])]
    return _fresh(np.resize(np.stack(out), (n, 3, 256, 256)))


# ---------------------------------------------------------------------------- machine
def matmul_gflops(n=2048, reps=5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(reps):
        tic = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - tic)
    return 2 * n ** 3 / median(times) / 1e9


def flops_per_slice(net, shape, positions=None) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, *shape)
    pos = None if positions is None else torch.zeros(1, dtype=torch.long)
    net = copy.deepcopy(net)
    net.eval()
    with FlopCounterMode(display=False) as fc:
        net(x, pos)
    forward = fc.get_total_flops()
    net.train()
    x = torch.zeros(2, *shape)            # batch norm needs 2 items in training mode
    pos = None if positions is None else torch.zeros(2, dtype=torch.long)
    with FlopCounterMode(display=False) as fc:
        net(x, pos).sum().backward()
    return {"forward": forward, "train_step": fc.get_total_flops() / 2}


# ---------------------------------------------------------------------------- variants
def infer_neurodx(net, data, batch, positions=None):
    from neurodx.models import ArrayItems, predict_items

    items = ArrayItems(data, np.zeros(len(data)), np.zeros(len(data)), positions)
    tic = time.perf_counter()
    proba = predict_items(net, items, batch_size=batch, device="cpu")
    dt = time.perf_counter() - tic
    assert proba.shape[0] == len(data)
    return len(data) / dt


def infer_plain(net, data, batch, positions=None):
    net.eval()
    x = torch.from_numpy(data)
    pos = None if positions is None else torch.from_numpy(positions)
    tic = time.perf_counter()
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            p = None if pos is None else pos[i:i + batch]
            out.append(torch.softmax(net(x[i:i + batch], p), 1))
    dt = time.perf_counter() - tic
    assert sum(len(o) for o in out) == len(data)
    return len(data) / dt


#: Smaller inference batches than the estimators' 256 (activations that stay in cache).
BATCH_SWEEP = {"fmri": (16, 32, 64, 128), "ct": (4, 8, 16)}
#: The small batch at which the optimised settings are also measured.
SMALL_BATCH = {"fmri": 64, "ct": 8}
#: Plain-PyTorch inference settings (neurodx's inference copy: channels_last + bn_folded).
OPTIMISED = {
    "channels_last": dict(channels_last=True, fold_bn=False, bf16=False),
    "channels_last+bn_folded": dict(channels_last=True, fold_bn=True, bf16=False),
    "channels_last+bn_folded+bf16": dict(channels_last=True, fold_bn=True, bf16=True),
}


def optimised(net, channels_last=False, fold_bn=False, bf16=False):
    """A copy of ``net`` for inference: NHWC memory format, batch norm folded into the
    convolutions (``torch.fx`` ``fuse``), bfloat16 autocast (AVX512-BF16 where present)."""
    from torch.fx.experimental.optimization import fuse

    net = copy.deepcopy(net).eval()
    if fold_bn:
        net.features = fuse(net.features)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net, dict(channels_last=channels_last, bf16=bf16)


def infer_plain_optimised(net, data, batch, channels_last=False, bf16=False, return_proba=False):
    net.eval()
    x = torch.from_numpy(data)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    tic = time.perf_counter()
    out = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(x), batch):
            out.append(torch.softmax(net(x[i:i + batch]).float(), 1))
    dt = time.perf_counter() - tic
    if return_proba:
        return torch.cat(out).numpy()
    return len(data) / dt


def infer_plain_per_position(ensemble, data, batch, positions):
    """The ensemble scored member by member (each member sees only its position)."""
    ensemble.eval()
    x = torch.from_numpy(data)
    pos = torch.from_numpy(positions)
    tic = time.perf_counter()
    n = 0
    with torch.inference_mode():
        for p in range(ensemble.n_positions):
            xs = x[pos == p]
            for i in range(0, len(xs), batch):
                n += len(torch.softmax(ensemble.members[p](xs[i:i + batch]), 1))
    dt = time.perf_counter() - tic
    assert n == len(data)
    return len(data) / dt


def _labels(n):
    return np.arange(n) % 2


def train_neurodx(net, data, batch, positions=None, augment=None):
    from neurodx.models import ArrayItems, TrainConfig, train_network

    n = len(data)
    groups = np.arange(n) // 16                 # 16 slices per pseudo-subject
    items = ArrayItems(data, (groups % 2), groups, positions)
    config = TrainConfig(epochs=1, batch_size=batch, val_fraction=0.0, patience=None,
                         device="cpu", num_threads=THREADS, progress=False, seed=0)
    tic = time.perf_counter()
    train_network(net, items, config, augment=augment)
    return n / (time.perf_counter() - tic)


def train_plain(net, data, batch, positions=None):
    n = len(data)
    x = torch.from_numpy(data)
    y = torch.from_numpy((np.arange(n) // 16 % 2).astype(np.int64))
    pos = None if positions is None else torch.from_numpy(positions)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    order = torch.from_numpy(np.random.default_rng(0).permutation(n))
    net.train()
    tic = time.perf_counter()
    for i in range(0, n, batch):
        idx = order[i:i + batch]
        logits = net(x[idx], None if pos is None else pos[idx])
        loss = loss_fn(logits, y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return n / (time.perf_counter() - tic)


def profile_top(net, data, batch, n_batches=3, top=8, positions=None):
    """Top operators (self CPU time) of plain inference, torch profiler."""
    from torch.profiler import ProfilerActivity, profile

    net.eval()
    x = torch.from_numpy(data[:batch * n_batches])
    with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(0, len(x), batch):
            p = None if positions is None else torch.from_numpy(positions[i:i + batch])
            net(x[i:i + batch], p)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    return [{"op": e.key, "self_cpu_ms": e.self_cpu_time_total / 1e3,
             "share": e.self_cpu_time_total / total, "calls": e.count} for e in events[:top]]


# ---------------------------------------------------------------------------- estimator path
def fitted_estimator(preset, small_subjects):
    """A preset estimator fitted for 0 epochs (weights at their seeded initialisation)."""
    from neurodx.models import make_estimator

    # No vote calibration: it is fitted on validation subjects, which 2 subjects lack,
    # and it does not touch the network's forward pass measured here.
    est = make_estimator(preset, epochs=0, progress=False, device="cpu", num_threads=THREADS,
                         calibration=None)
    return est.fit(list(zip(["s1", "s2"], small_subjects)), ["A", "B"])


def prepare_time(est, img) -> float | None:
    """Seconds of the estimator's input preparation alone (read, z-score, slice stack).

    Uses the private ``_prepare``; ``None`` if that has changed shape.
    """
    try:
        return time_call(est._prepare, img, "subject", False)
    except Exception:  # noqa: BLE001 - a breakdown only, never a reason to fail
        return None


def time_call(func, *args):
    tic = time.perf_counter()
    func(*args)
    return time.perf_counter() - tic


# ---------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fmri-slices", type=int, default=1024)
    parser.add_argument("--fmri-train-slices", type=int, default=512)
    parser.add_argument("--ct-slices", type=int, default=32)
    parser.add_argument("--subject-frames-side-by-side", type=int, default=24,
                        help="frames per position in the neurodx-vs-plain ensemble comparison "
                             "(the full 240-frame subject is scored through the estimator)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    print(f"== benchmark 3: CNN throughput on {THREADS} threads (torch {torch.__version__})",
          flush=True)

    from neurodx.models import FMRI_SLICE_CNN, PerPositionSliceEnsemble, SliceCNN, ct_slice_cnn
    from neurodx.models.presets import get_preset

    fmri_train_bs = get_preset("fmri_ma")["batch_size"]
    ct_train_bs = get_preset("ct")["batch_size"]
    eval_bs = get_preset("fmri_ma").get("eval_batch_size", 256)

    tic = time.perf_counter()
    img = fmri_volume()
    fmri = fmri_slices(img, args.fmri_slices)
    ct = ct_slices(args.ct_slices)
    data_s = time.perf_counter() - tic
    print(f"  SYNTHETIC inputs: fMRI run 64x64x31x240, {len(ct)} CT slices ({data_s:.1f} s)",
          flush=True)

    fmri_net = SliceCNN(2, **FMRI_SLICE_CNN)
    ct_net = ct_slice_cnn(2, in_channels=3)
    ensemble = PerPositionSliceEnsemble(2, FMRI_SLICES, **FMRI_SLICE_CNN)
    # one subject, position-major (position, frame) as SliceStackItems orders it
    subject = fmri_slices(img, FMRI_FRAMES * FMRI_SLICES)
    subject_pos = np.repeat(np.arange(FMRI_SLICES), FMRI_FRAMES).astype(np.int64)
    train_ens_n = 256
    side = FMRI_SLICES * args.subject_frames_side_by_side      # position-major subset
    side_idx = np.concatenate([np.arange(p * FMRI_FRAMES, p * FMRI_FRAMES
                                         + args.subject_frames_side_by_side)
                               for p in range(FMRI_SLICES)])
    subject_side, subject_side_pos = _fresh(subject[side_idx]), subject_pos[side_idx]
    rng = np.random.default_rng(0)
    ens_train_pos = rng.integers(0, FMRI_SLICES, train_ens_n).astype(np.int64)

    # estimator path: fMRI subject and CT scan end to end through predict_proba
    small = [np.asarray(fmri_volume(frames=4, seed=s).dataobj, np.float32) for s in (1, 2)]
    fmri_est = fitted_estimator("fmri_ma", small)
    from neurodx.simulate import simulate_ct_volume
    ct_scans = [simulate_ct_volume(les, shape=(256, 256, 12), seed=s)[0].astype(np.float32)
                for s, les in ((3, "none"), (4, "infarct"), (5, "none"))]
    ct_est = fitted_estimator("ct", ct_scans[:2])
    fmri_est.predict_proba([small[0]])          # warm-up
    ct_est.predict_proba([ct_scans[2]])

    gflops, rows, raw = [], [], {}

    def record(key, value):
        raw.setdefault(key, []).append(value)

    def pair(key, neurodx, plain, first_neurodx):
        """neurodx and plain PyTorch back to back, order alternating between repeats."""
        for name in (("neurodx", "plain") if first_neurodx else ("plain", "neurodx")):
            record(f"{key}_{name}", (neurodx if name == "neurodx" else plain)())

    def fresh(net, state):
        net.load_state_dict(state)
        return net

    n_train = min(args.fmri_train_slices, len(fmri))
    n_ct_train = min(ct_train_bs, len(ct))
    states = {id(n): copy.deepcopy(n.state_dict()) for n in (fmri_net, ensemble, ct_net)}
    fmri_opt = {k: optimised(fmri_net, **o) for k, o in OPTIMISED.items()}
    ct_opt = {k: optimised(ct_net, **o) for k, o in OPTIMISED.items()}
    # bfloat16 changes the numbers: how much, on these slices (max |p_bf16 - p_fp32|)
    # (weights are at their seeded initialisation, untrained: a trained model must be
    # re-validated, this only shows that bfloat16 is not a free switch)
    changes = {}
    for name, opts, net, x in (("fmri", fmri_opt, fmri_net, fmri), ("ct", ct_opt, ct_net, ct)):
        ref = infer_plain_optimised(net, x, eval_bs, return_proba=True)
        for variant, (m_, o_) in opts.items():
            out = infer_plain_optimised(m_, x, eval_bs, **o_, return_proba=True)
            changes[name, variant] = (float(np.abs(out - ref).max()),
                                      float(np.mean(out.argmax(1) == ref.argmax(1))))
            infer_plain_optimised(m_, x[:2 * SMALL_BATCH[name]], SMALL_BATCH[name], **o_)
        for bs in BATCH_SWEEP[name]:
            infer_plain(net, x[:2 * bs], bs)                 # warm-up of the batch shapes
    # neurodx's inference path against the plain evaluation-mode forward, same slices
    from neurodx.models import ArrayItems, predict_items
    for name, net, x in (("fmri", fmri_net, fmri), ("ct", ct_net, ct)):
        ref = infer_plain_optimised(net, x, eval_bs, return_proba=True)
        items = ArrayItems(x, np.zeros(len(x)), np.zeros(len(x)))
        out = predict_items(net, items, batch_size=eval_bs, device="cpu")
        changes[name, "neurodx"] = (float(np.abs(out - ref).max()),
                                    float(np.mean(out.argmax(1) == ref.argmax(1))))
    # warm-up, untimed: first calls create oneDNN primitives and grow the allocators
    warm_idx = np.concatenate([np.arange(p * FMRI_FRAMES, p * FMRI_FRAMES + 2)
                               for p in range(FMRI_SLICES)])
    for net, x, pos in ((fmri_net, fmri[:eval_bs], None), (ct_net, ct[:4], None),
                        (ensemble, subject[warm_idx], subject_pos[warm_idx])):
        infer_neurodx(net, x, eval_bs, pos)
        infer_plain(net, x, eval_bs, pos)
    for net, x, bs, pos in ((fmri_net, fmri[:2 * fmri_train_bs], fmri_train_bs, None),
                            (ct_net, ct[:2 * ct_train_bs], ct_train_bs, None),
                            (ensemble, fmri[:2 * fmri_train_bs], fmri_train_bs,
                             ens_train_pos[:2 * fmri_train_bs])):
        train_neurodx(net, x, bs, pos)
        train_plain(fresh(net, states[id(net)]), x, bs, pos)
        fresh(net, states[id(net)])

    for r in range(args.repeats):
        first = r % 2 == 0
        gflops.append(matmul_gflops())
        pair("fmri_infer", lambda: infer_neurodx(fmri_net, fmri, eval_bs),
             lambda: infer_plain(fmri_net, fmri, eval_bs), first)
        for name, opts, x in (("fmri", fmri_opt, fmri), ("ct", ct_opt, ct)):
            for key, (net_, kw) in opts.items():
                record(f"{name}_infer_{key}", infer_plain_optimised(net_, x, eval_bs, **kw))
                record(f"{name}_infer_{key}@small",
                       infer_plain_optimised(net_, x, SMALL_BATCH[name], **kw))
        for key, net, x in (("fmri", fmri_net, fmri), ("ct", ct_net, ct)):
            for bs in BATCH_SWEEP[key]:
                record(f"{key}_infer_plain_batch{bs}", infer_plain(net, x, bs))
        pair("fmri_train",
             lambda: train_neurodx(fresh(fmri_net, states[id(fmri_net)]), fmri[:n_train],
                                   fmri_train_bs),
             lambda: train_plain(fresh(fmri_net, states[id(fmri_net)]), fmri[:n_train],
                                 fmri_train_bs), first)
        pair("subject", lambda: infer_neurodx(ensemble, subject_side, eval_bs, subject_side_pos),
             lambda: infer_plain_per_position(ensemble, subject_side, eval_bs,
                                              subject_side_pos), first)
        record("subject_estimator_s", time_call(fmri_est.predict_proba, [img]))
        record("subject_prepare_s", prepare_time(fmri_est, img))
        pair("ens_train",
             lambda: train_neurodx(fresh(ensemble, states[id(ensemble)]), fmri[:train_ens_n],
                                   fmri_train_bs, ens_train_pos),
             lambda: train_plain(fresh(ensemble, states[id(ensemble)]), fmri[:train_ens_n],
                                 fmri_train_bs, ens_train_pos), first)
        pair("ct_infer", lambda: infer_neurodx(ct_net, ct, eval_bs),
             lambda: infer_plain(ct_net, ct, eval_bs), first)
        pair("ct_train",
             lambda: train_neurodx(fresh(ct_net, states[id(ct_net)]), ct[:n_ct_train],
                                   ct_train_bs),
             lambda: train_plain(fresh(ct_net, states[id(ct_net)]), ct[:n_ct_train],
                                 ct_train_bs), first)
        record("ct_scan_estimator_s", time_call(ct_est.predict_proba, [ct_scans[2]]))
        gflops.append(matmul_gflops())
        print(f"  repeat {r + 1}/{args.repeats}: fMRI inference neurodx "
              f"{raw['fmri_infer_neurodx'][-1]:.0f} / plain {raw['fmri_infer_plain'][-1]:.0f} "
              f"slices/s; one fMRI subject {raw['subject_estimator_s'][-1]:.1f} s; CT "
              f"inference {raw['ct_infer_neurodx'][-1]:.1f} slices/s; matmul "
              f"{gflops[-1]:.0f} GFLOP/s", flush=True)

    peak = median(gflops)
    fl = {"fmri": flops_per_slice(fmri_net, (1, 64, 64)),
          "ct": flops_per_slice(ct_net, (3, 256, 256)),
          "ensemble": flops_per_slice(ensemble, (1, 64, 64), positions=True)}
    m = {k: median(v) for k, v in raw.items()}

    def row(name, task, key_nd, key_plain, flops, batch, n):
        nd, pl = m[key_nd], m[key_plain]
        achieved = nd * flops / 1e9
        return {"network": name, "task": task, "batch": batch, "n_slices": n,
                "neurodx_slices_s": nd, "plain_slices_s": pl, "neurodx_over_plain": nd / pl,
                "mflop_per_slice": flops / 1e6, "neurodx_gflops": achieved,
                "fraction_of_matmul": achieved / peak}

    subject_n = len(subject)
    rows = [
        row("fMRI SliceCNN 64x64", "inference", "fmri_infer_neurodx", "fmri_infer_plain",
            fl["fmri"]["forward"], eval_bs, len(fmri)),
        row("fMRI SliceCNN 64x64", "training", "fmri_train_neurodx", "fmri_train_plain",
            fl["fmri"]["train_step"], fmri_train_bs, n_train),
        row("fMRI 31-member ensemble, subject slices by position", "inference",
            "subject_neurodx", "subject_plain", fl["ensemble"]["forward"], eval_bs, side),
        row("fMRI 31-member ensemble, mixed positions", "training", "ens_train_neurodx",
            "ens_train_plain", fl["ensemble"]["train_step"], fmri_train_bs, train_ens_n),
        row("CT 7-layer 3x256x256", "inference", "ct_infer_neurodx", "ct_infer_plain",
            fl["ct"]["forward"], eval_bs, len(ct)),
        row("CT 7-layer 3x256x256", "training", "ct_train_neurodx", "ct_train_plain",
            fl["ct"]["train_step"], ct_train_bs, n_ct_train),
    ]
    # plain-loop efficiency too, and the ensemble's routing overhead in training
    for r_ in rows:
        r_["plain_fraction_of_matmul"] = r_["plain_slices_s"] * r_["mflop_per_slice"] / 1e3 / peak
    ens_routing = m["ens_train_neurodx"] / m["fmri_train_neurodx"]

    subject = {
        "slices": subject_n,
        "estimator_predict_proba_s": m["subject_estimator_s"],
        "estimator_slices_s": subject_n / m["subject_estimator_s"],
        # the side-by-side rates applied to the full subject
        "predict_items_s_extrapolated": subject_n / m["subject_neurodx"],
        "plain_per_position_s_extrapolated": subject_n / m["subject_plain"],
        "compute_floor_s": subject_n * fl["ensemble"]["forward"] / 1e9 / peak,
        # SliceVotingClassifier._prepare: read the image, z-score frames, cut the stack
        "prepare_s": None if None in raw["subject_prepare_s"] else m["subject_prepare_s"],
    }
    subject["estimator_over_plain"] = subject["estimator_predict_proba_s"] / \
        subject["plain_per_position_s_extrapolated"]
    best_plain = max(m[f"fmri_infer_{v}{suffix}"] for v in OPTIMISED if "bf16" not in v
                     for suffix in ("", "@small"))
    vs_best_plain = rows[0]["neurodx_slices_s"] / best_plain
    targets = [
        {"target": "fMRI 64x64 inference, slices/s (neurodx)",
         "goal": f">= {TARGET_FMRI_SLICES_PER_S:,.0f}",
         "measured": rows[0]["neurodx_slices_s"],
         "met": rows[0]["neurodx_slices_s"] >= TARGET_FMRI_SLICES_PER_S,
         "factor_off": TARGET_FMRI_SLICES_PER_S / rows[0]["neurodx_slices_s"]},
        {"target": "one fMRI subject (240 x 31, 31 networks), s", "goal": f"<= {TARGET_SUBJECT_S}",
         "measured": subject["estimator_predict_proba_s"],
         "met": subject["estimator_predict_proba_s"] <= TARGET_SUBJECT_S,
         "factor_off": subject["estimator_predict_proba_s"] / TARGET_SUBJECT_S},
        # neurodx runs the fastest plain setting (channels_last, folded batch norm, cache-
        # sized batches) plus the estimator's own work per batch (gathering the items,
        # softmax to float64): equal within that work and the run-to-run spread (0.97-1.01
        # measured over runs), not faster
        target_row("fMRI 64x64 inference, neurodx / fastest plain float32 loop (same run)",
                   vs_best_plain, MIN_VS_BEST_PLAIN, at_most=False),
        {"target": "CT 3x256x256 inference, slices/s (neurodx)",
         "goal": f">= {TARGET_CT_SLICES_PER_S:,.0f}",
         "measured": rows[4]["neurodx_slices_s"],
         "met": rows[4]["neurodx_slices_s"] >= TARGET_CT_SLICES_PER_S,
         "factor_off": TARGET_CT_SLICES_PER_S / rows[4]["neurodx_slices_s"]},
        {"target": "max |neurodx - plain eval forward| of a probability (fMRI, CT)",
         "goal": "<= 1e-5",
         "measured": max(changes["fmri", "neurodx"][0], changes["ct", "neurodx"][0]),
         "met": max(changes["fmri", "neurodx"][0], changes["ct", "neurodx"][0]) <= 1e-5,
         "factor_off": None},
        {"target": "GFLOP/s needed for 3,000 slices/s vs measured matmul GFLOP/s",
         "goal": "<= 1 (feasible)",
         "measured": TARGET_FMRI_SLICES_PER_S * fl["fmri"]["forward"] / 1e9 / peak,
         "met": TARGET_FMRI_SLICES_PER_S * fl["fmri"]["forward"] / 1e9 <= peak,
         "factor_off": TARGET_FMRI_SLICES_PER_S * fl["fmri"]["forward"] / 1e9 / peak},
    ]
    # headroom: plain PyTorch inference with settings neurodx does not use (yet)
    headroom = []
    for name, key, flops in (("fMRI SliceCNN 64x64", "fmri", fl["fmri"]["forward"]),
                             ("CT 7-layer 3x256x256", "ct", fl["ct"]["forward"])):
        base = m[f"{key}_infer_plain"]
        for variant in ("plain", *(f"batch{b}" for b in BATCH_SWEEP[key]), *OPTIMISED,
                        *(f"{v}@small" for v in OPTIMISED)):
            if variant == "plain":
                rate, label = base, f"the network as trained: NCHW, float32, batch {eval_bs}"
            elif variant.startswith("batch"):
                rate = m[f"{key}_infer_plain_{variant}"]
                label = f"NCHW, float32, batch {variant[5:]}"
            else:
                bs = SMALL_BATCH[key] if variant.endswith("@small") else eval_bs
                rate = m[f"{key}_infer_{variant}"]
                label = f"{variant.removesuffix('@small')}, batch {bs}"
            numerics = changes.get((key, variant.removesuffix("@small")), (0.0, 1.0))
            headroom.append({"network": name, "variant": label, "slices_s": rate,
                             "speedup_vs_plain": rate / base,
                             "fraction_of_matmul": rate * flops / 1e9 / peak,
                             "max_abs_proba_change": numerics[0], "same_class": numerics[1]})
    fmri_rows = [h for h in headroom if h["network"].startswith("fMRI")]
    for note, pick in (("float32", lambda h: "bf16" not in h["variant"]),
                       ("bfloat16", lambda h: "bf16" in h["variant"])):
        best = max((h for h in fmri_rows if pick(h)), key=lambda h: h["slices_s"])
        rate = best["slices_s"]
        subject[f"projected_s_best_{note}"] = subject_n / rate
        targets.append({"target": f"fMRI inference, fastest plain {note} setting measured "
                                  f"({best['variant']}), slices/s",
                        "goal": f">= {TARGET_FMRI_SLICES_PER_S:,.0f}", "measured": rate,
                        "met": rate >= TARGET_FMRI_SLICES_PER_S,
                        "factor_off": TARGET_FMRI_SLICES_PER_S / rate})
        targets.append({"target": "one fMRI subject at that rate (projected), s",
                        "goal": f"<= {TARGET_SUBJECT_S}", "measured": subject_n / rate,
                        "met": subject_n / rate <= TARGET_SUBJECT_S,
                        "factor_off": subject_n / rate / TARGET_SUBJECT_S})
    profiles = {"fmri_inference_plain": profile_top(fmri_net, fmri, eval_bs),
                "ct_inference_plain": profile_top(ct_net, ct, 32, n_batches=2)}
    doc = {"threads": THREADS, "repeats": args.repeats, "matmul_gflops": peak,
           "matmul_gflops_runs": gflops, "flops": fl, "rows": rows, "subject": subject,
           "ct_scan_estimator_s": m["ct_scan_estimator_s"],
           "ensemble_training_over_single_network": ens_routing,
           "targets": targets, "headroom": headroom,
           "profiles": profiles, "raw": raw,
           "torch_parallel_info": torch.__config__.parallel_info().splitlines()[:12]}
    print(table(rows, COLUMNS))
    print(table(headroom, HEADROOM_COLUMNS))
    print(table(targets, TARGET_COLUMNS))
    print(f"matmul {peak:.1f} GFLOP/s; one fMRI subject: estimator "
          f"{subject['estimator_predict_proba_s']:.2f} s, plain per-position loop (rate of the "
          f"side-by-side run) {subject['plain_per_position_s_extrapolated']:.2f} s, all FLOPs at "
          f"matmul peak {subject['compute_floor_s']:.2f} s")
    write_result("cnn", doc, started=started)


COLUMNS = [("network", "network"), ("task", "task"), ("batch", "batch"),
           ("neurodx_slices_s", "neurodx slices/s"), ("plain_slices_s", "plain PyTorch slices/s"),
           ("neurodx_over_plain", "neurodx / plain"), ("mflop_per_slice", "MFLOP/slice"),
           ("neurodx_gflops", "neurodx GFLOP/s"), ("fraction_of_matmul", "of matmul peak")]
HEADROOM_COLUMNS = [("network", "network"), ("variant", "plain PyTorch inference"),
                    ("slices_s", "slices/s"), ("speedup_vs_plain", "vs NCHW float32"),
                    ("fraction_of_matmul", "of matmul peak"),
                    ("max_abs_proba_change", "max |change| of a probability"),
                    ("same_class", "same predicted class")]
TARGET_COLUMNS = [("target", "target"), ("goal", "goal"), ("measured", "measured"),
                  ("met", "met"), ("factor_off", "miss factor (> 1: missed)")]


if __name__ == "__main__":
    main()
