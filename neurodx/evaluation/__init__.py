"""Subject-level folds, metrics, statistics and the comparison report."""
from .folds import SCHEMES, Fold, make_folds
from .routes import (Route, build_braindecode_route, build_from_config, build_preset_route,
                     preset_routes)
from .metrics import METRICS, bootstrap_ci, classification_metrics, format_per_class
from .statistics import corrected_resampled_ttest, mcnemar_test

__all__ = ["Route", "build_braindecode_route", "build_from_config", "build_preset_route", "preset_routes", "Fold", "make_folds", "SCHEMES", "METRICS", "classification_metrics", "bootstrap_ci",
           "format_per_class", "mcnemar_test", "corrected_resampled_ttest"]
