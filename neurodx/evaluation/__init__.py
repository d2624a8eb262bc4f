"""Subject-level folds, metrics, statistics, the CV harness and the comparison report.

``Route`` and the route builders live in :mod:`neurodx.study` (documented there).
"""
# Still importable from here (not listed in __all__, so documented once) for study
# modules written against ``neurodx.evaluation`` before ``neurodx.study`` existed.
from ..study.routes import (Route, build_braindecode_route, build_from_config,  # noqa: F401
                            build_preset_route, preset_routes)
from .folds import SCHEMES, Fold, make_folds
from .metrics import METRICS, bootstrap_ci, classification_metrics, format_per_class
from .statistics import corrected_resampled_ttest, mcnemar_test

__all__ = ["Fold", "make_folds", "SCHEMES", "METRICS", "classification_metrics",
           "bootstrap_ci", "format_per_class", "mcnemar_test", "corrected_resampled_ttest"]
