"""The scoring journal: finished results, one JSON line each, kept beside ``scores.csv``.

Each line is one input's result, keyed by ``<model id>:<input SHA-256>``, appended
with flush + fsync as soon as the input is done. A run killed at any point leaves
at most a torn last line, which the next run drops before appending; it then skips
every input already in the journal. Because results are keyed by content, a file
renamed or moved is not scored again, and a changed file is.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .._json import dumps
from .._logging import logger

__all__ = ["Journal", "journal_path"]


def journal_path(out: str | Path) -> Path:
    """The journal of an output file: ``scores.csv`` -> ``scores.csv.journal.jsonl``."""
    out = Path(out)
    return out.with_name(out.name + ".journal.jsonl")


#: Fields every journal record has (written by :func:`neurodx.scoring.score_inputs`).
RECORD_FIELDS = {"key": str, "status": str}


def _complete(record) -> bool:
    if not isinstance(record, dict):
        return False
    if any(not isinstance(record.get(k), t) for k, t in RECORD_FIELDS.items()):
        return False
    return record["status"] in ("ok", "error") and \
        isinstance(record.get("proba"), (dict, type(None)))


class Journal:
    """Append-only JSON-lines store of finished results.

    Parameters
    ----------
    path : path
        The journal file (created on first append).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def load(self) -> dict[str, dict]:
        """Every complete record by key; a torn last line is cut off the file."""
        if not self.path.is_file():
            return {}
        data = self.path.read_bytes()
        records, good_end = {}, 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break                       # torn by a kill mid-write
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if _complete(record):
                records[record["key"]] = record
            else:
                # Not fatal: the input it was about is simply scored again.
                logger.warning("%s: skipping an unreadable or incomplete journal line",
                               self.path.name)
            good_end += len(line)
        if good_end < len(data):
            with open(self.path, "r+b") as fh:
                fh.truncate(good_end)
                fh.flush()
                os.fsync(fh.fileno())
        return records

    def append(self, record: dict) -> None:
        """Write one record as one line and make it durable before returning."""
        line = dumps(record, sort_keys=True, ensure_ascii=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.write(line.encode("ascii"))
            fh.flush()
            os.fsync(fh.fileno())
