"""Batch scoring with a trained bundle: ``neurodx score``.

:func:`score_inputs` scores files, folders and cohorts, one row per recording or
scan, resumably (a journal keyed by content hash) and in parallel (joblib, or
Dask distributed); :func:`expand_inputs` lists what a command line names.
"""
from .executors import map_unordered
from .inputs import ScoreInput, expand_inputs, input_sha256
from .journal import Journal, journal_path
from .score import SCORE_COLUMNS, ScoreResult, score_inputs

__all__ = ["score_inputs", "ScoreResult", "SCORE_COLUMNS", "expand_inputs", "ScoreInput",
           "input_sha256", "Journal", "journal_path", "map_unordered"]
