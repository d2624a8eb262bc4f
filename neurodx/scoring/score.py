"""Score many recordings with one bundle: resumable, parallel, one row per input.

Order of work:

1. check ``--out`` and take its lock (``<out>.lock``: a second scorer on the same
   output is refused); load and verify the bundle; list the inputs
   (:func:`expand_inputs`: each one checked with ``os.stat`` first, so a FIFO or a
   device is an error row, never a hang) and hash their contents;
2. read the journal beside the output and skip every input whose
   ``<model id>:<content SHA-256>`` is in it;
3. score the others (in this process, joblib workers or Dask workers): check
   each against the manifest, load it as training did, predict; a bad input
   gives an error result and the batch goes on; each result is journaled
   (flush + fsync) as it arrives;
4. write ``scores.csv`` (temporary file + rename) from the journal, sorted by file.

So a run killed at any point and run again ends with the same ``scores.csv``, and
scoring an unchanged file again changes nothing. Results are journaled only when
they are a property of the input (a prediction, or a :class:`NeurodxError` such as a
wrong channel set); an unexpected failure (a bug, a lost worker) is reported in
the row but retried by the next run.
"""
from __future__ import annotations

import csv
import io
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from .._atomic import atomic_write_text
from .._outputs import check_output_file
from .._logging import logger, progress as progress_bar, verbose as _verbose
from .._threads import single_threaded_blas
from ..errors import NeurodxError, RecordingError
from .executors import check_scheduler, map_unordered
from .inputs import ScoreInput, expand_inputs, input_sha256
from .journal import Journal, journal_path
from .lock import output_lock

__all__ = ["ScoreResult", "score_inputs", "SCORE_COLUMNS"]

#: Columns of ``scores.csv`` around the per-class probabilities (``proba_<class>``).
SCORE_COLUMNS = ("participant_id", "file", "predicted", "vote_margin", "model_id", "status",
                 "error")


@dataclass
class ScoreResult:
    """Outcome of :func:`score_inputs`.

    Attributes
    ----------
    out : Path
        The ``scores.csv`` written.
    journal : Path
        Its journal.
    model_id : str
    n_inputs, n_ok, n_error : int
        Rows in total, with ``status`` ok, with ``status`` error.
    n_scored, n_from_journal : int
        Inputs scored by this run, and taken from the journal of an earlier run.
    """

    out: Path
    journal: Path
    model_id: str
    n_inputs: int
    n_ok: int
    n_error: int
    n_scored: int
    n_from_journal: int


@contextmanager
def _single_threaded():
    """BLAS and torch on one thread: parallelism is across inputs, and every executor
    (this process, joblib, Dask workers) then computes the same numbers."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    with single_threaded_blas():
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)


def _score_one(bundle, task: tuple[str, str, str]) -> dict:
    """Score one input (runs in a worker); never raises for a bad input."""
    from ..bundles import load_checked_input

    key, sha, path = task
    record = {"key": key, "model_id": bundle.model_id, "input_sha256": sha,
              "file": Path(path).name, "predicted": None, "proba": None, "vote_margin": None,
              "status": "ok", "error": None, "journal": True}
    try:
        with _single_threaded():
            record.update(bundle.predict(load_checked_input(path, bundle)))
    except RecordingError as err:
        # The row names the file already; keep the message alone (it is keyed by content).
        record.update(status="error", error=_one_line(err.message))
    except NeurodxError as err:
        record.update(status="error", error=_one_line(str(err)))
    except MemoryError:
        # Not journaled: the same input may fit on a larger machine or with fewer --jobs.
        record.update(status="error", error="out of memory while reading or scoring this input",
                      journal=False)
    except Exception as err:  # noqa: BLE001 - one bad input must not stop the batch
        record.update(status="error", error=_one_line(f"{type(err).__name__}: {err}"),
                      journal=False)
    return record


def _one_line(text: str) -> str:
    return " ".join(text.split("\n")).strip()


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".6g")
    return str(value)


def _csv(items: list[ScoreInput], results: dict, keys: list, classes: list[str],
         model_id: str) -> tuple[str, int]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    proba_cols = [f"proba_{c}" for c in classes]
    writer.writerow([*SCORE_COLUMNS[:3], *proba_cols, *SCORE_COLUMNS[3:]])
    n_error = 0
    for item, key in zip(items, keys):
        rec = results.get(key) if item.error is None else None
        if rec is None:
            rec = {"status": "error", "error": item.error or "not scored"}
        n_error += rec["status"] != "ok"
        proba = rec.get("proba") or {}
        writer.writerow([item.participant_id, item.file, _format(rec.get("predicted")),
                         *[_format(proba.get(c)) for c in classes],
                         _format(rec.get("vote_margin")), model_id, rec["status"],
                         _format(rec.get("error"))])
    return buf.getvalue(), n_error


@_verbose
def score_inputs(model_dir, inputs, out, *, n_jobs: int = 1, scheduler: str | None = None,
                 progress: bool = True, key: bytes | None = None,
                 expect_model_id: str | None = None, allow_outside: bool = False,
                 verbose=None,
                 _stop_after: int | None = None) -> ScoreResult:
    """Score files, folders or cohorts with a bundle and write ``scores.csv``.

    Parameters
    ----------
    model_dir : path
        A bundle written by ``neurodx train`` (:func:`neurodx.bundles.save_bundle`).
    inputs : sequence of path
        Files, folders, or cohort folders (with ``participants.tsv``).
    out : path
        The CSV to write; its journal is ``<out>.journal.jsonl``.
    n_jobs : int
        Worker processes (joblib, or Dask ``LocalCluster`` workers).
    scheduler : {None, "local", "tcp://HOST:PORT"}
        Dask: start a local cluster, or use a running scheduler.
    progress : bool
        Allow a progress bar (rate, ETA) on stderr; drawn only on a terminal, unless
        the level is ERROR or above.
    key : bytes, optional
        Require the bundle's signature under this key (see :func:`neurodx.bundles.load_bundle`).
    expect_model_id : str, optional
        Require this model id (or full manifest SHA-256).
    allow_outside : bool
        Let a cohort's ``path`` entries lead outside its folder.
    verbose : bool | str | int | None
        Log level for this call (see :func:`neurodx.set_log_level`).
    _stop_after : int, optional
        Testing hook: stop as if killed (raising before ``scores.csv`` is written)
        once this many results are journaled.

    Returns
    -------
    ScoreResult
        ``scores.csv`` has one row per input, sorted by file: participant_id, file,
        predicted, ``proba_<class>``, vote_margin (CNN routes), model_id, status
        (ok / error), error.
    """
    from ..bundles import load_bundle

    check_scheduler(scheduler)
    out = check_output_file(out)
    bundle = load_bundle(model_dir, key=key, expect_model_id=expect_model_id)
    with output_lock(out) as lock:
        return _score(bundle, inputs, out, lock, n_jobs=n_jobs, scheduler=scheduler,
                      progress=progress, allow_outside=allow_outside, stop_after=_stop_after)


def _score(bundle, inputs, out, lock, *, n_jobs, scheduler, progress, allow_outside,
           stop_after) -> ScoreResult:
    from tqdm.contrib.logging import logging_redirect_tqdm

    journal = Journal(journal_path(out))
    items = expand_inputs(inputs, bundle.modality, skip=[out, journal.path, lock],
                          allow_outside=allow_outside)
    # Hashing is I/O: threads overlap it (hashlib releases the GIL on large blocks).
    with ThreadPoolExecutor(max_workers=4) as pool:
        hashes = list(pool.map(_hash_or_error, items))
    keys, todo = [None] * len(items), {}
    for k, (item, (sha, err)) in enumerate(zip(items, hashes)):
        if err is not None:
            items[k] = ScoreInput(item.participant_id, item.file, item.path, err)
        elif item.error is None:
            keys[k] = f"{bundle.model_id}:{sha}"
            todo.setdefault(keys[k], (keys[k], sha, str(item.path)))
    results = journal.load()
    tasks = [t for k, t in todo.items() if k not in results]
    logger.info("scoring %d input(s) with model %s: %d to score, %d already in %s",
                len(items), bundle.model_id, len(tasks), len(todo) - len(tasks),
                journal.path.name)
    bar = progress_bar(total=len(tasks), desc="scoring", unit="input",
                       enabled=progress and bool(tasks))
    # Log lines go above the bar instead of through it.
    with logging_redirect_tqdm(loggers=[logger]) if progress else nullcontext():
        n_scored = _run(bundle, tasks, journal, results, bar, n_jobs, scheduler, stop_after)
    text, n_error = _csv(items, results, keys, bundle.classes, bundle.model_id)
    atomic_write_text(out, text)
    return ScoreResult(out, journal.path, bundle.model_id, len(items), len(items) - n_error,
                       n_error, n_scored, len(todo) - len(tasks))


def _run(bundle, tasks, journal, results, bar, n_jobs, scheduler, stop_after) -> int:
    """Score ``tasks``, journaling and collecting each result as it arrives; return the count."""
    n_done = 0
    try:
        for record in map_unordered(_score_one, bundle, tasks, n_jobs=n_jobs,
                                    scheduler=scheduler):
            if record.pop("journal"):
                journal.append(record)
            results[record["key"]] = record
            if record["status"] != "ok":
                logger.warning("%s: %s", record["file"], record["error"])
            n_done += 1
            bar.update()
            if stop_after is not None and n_done >= stop_after:
                raise _Stopped(f"stopped after {n_done} result(s)")
    finally:
        bar.close()
    return n_done


def _hash_or_error(item: ScoreInput) -> tuple[str | None, str | None]:
    if item.error is not None:
        return None, None
    try:
        return input_sha256(item.path), None
    except OSError as err:
        return None, f"cannot read ({err.strerror or err})"


class _Stopped(Exception):
    """Raised by the ``_stop_after`` testing hook (a kill at a chosen point)."""
