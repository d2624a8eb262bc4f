"""What a study knows about its data before it builds routes, and its study module."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..errors import ConfigError

__all__ = ["StudyContext", "load_pipeline"]


@dataclass
class StudyContext:
    """What a pipeline module learns about the data before building its routes.

    Everything here comes from the cohort, never from code: the class labels,
    channel names or region count, sampling rate. ``flat_dropped`` names the
    channels or regions removed from every subject for being flat
    (``flat_policy: drop``; EEG ``channel_names`` no longer hold them);
    ``region_columns`` are the region columns kept, by position (None: all of
    the ``n_regions`` columns a file holds).

    The study settings that several steps use are resolved here once, from the
    config, by :func:`~neurodx.study.prepare.prepare_cohort` (each config key has
    one reader): ``study`` (the study's name), ``window_length`` / ``window_overlap``
    (``windows.length`` / ``overlap``, in the modality's unit), ``resample_to``
    (the rate recordings are resampled to, ``preprocessing.sfreq``; None: kept)
    and ``cohort_root`` (the cohort folder).
    """

    config: Config
    classes: list[str]
    modality: str
    channel_names: list[str] | None
    sfreq: float | None
    n_regions: int | None
    seed: int
    n_jobs: int = 1
    flat_dropped: list[str] = field(default_factory=list)
    region_columns: list[int] | None = None
    study: str = ""
    window_length: float | None = None
    window_overlap: float = 0.0
    resample_to: float | None = None
    cohort_root: Path | None = None

    @property
    def data_rate(self) -> float | None:
        """The rate the routes receive: ``resample_to`` when set, else the cohort's."""
        return self.resample_to or self.sfreq


def load_pipeline(path: str | Path):
    """Import a study module (``pipelines/<study>.py``) from its file path.

    Study modules are user code composed from neurodx parts; neurodx never imports
    ``pipelines`` as a package, it loads the file a config names.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"pipeline module not found: {path}")
    # Not registered in sys.modules on purpose: joblib workers then receive the
    # module's functions by value (cloudpickle) instead of failing to import them.
    spec = importlib.util.spec_from_file_location(f"neurodx_pipeline_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "build_routes"):
        raise ConfigError(f"{path}: a pipeline module must define build_routes(context)")
    return module
