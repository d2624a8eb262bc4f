"""4-D fMRI runs to region time series with nilearn (atlas or fitted parcellation).

Region signals are extracted by nilearn's :class:`~nilearn.maskers.NiftiLabelsMasker`
(mean signal per label, then signal cleaning: detrending, z-scoring, optional
band-pass at the run's TR) from a labels image that is either

* given by the user (``atlas``: any integer NIfTI label image, 0 = background; it is
  resampled to each run by nilearn, nearest neighbour), or
* learnt from the runs passed to ``fit`` by :class:`~nilearn.regions.Parcellations`
  (ward, k-means, ReNA...; ``n_parcels`` regions). In a comparison this step is then
  fitted inside each fold, on the training subjects only: the parcellation never
  sees a test subject's voxels.

Nothing is downloaded: nilearn's atlas fetchers are never called.
"""
from __future__ import annotations

import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError, RecordingError

__all__ = ["RegionsFromVolume", "PARCELLATION_METHODS"]

#: Data-driven parcellations of :class:`nilearn.regions.Parcellations`.
PARCELLATION_METHODS = ("ward", "kmeans", "complete", "average", "rena", "hierarchical_kmeans")


def _path(item):
    # The comparison passes (subject_id, path) pairs (as to the CNN routes), users paths.
    if isinstance(item, tuple) and len(item) == 2:
        return str(item[1])
    if isinstance(item, (str, Path)):
        return str(item)
    raise ConfigError(f"expected the path of a 4-D NIfTI run (or a (subject_id, path) "
                      f"pair), got {type(item).__name__}")


def _load_run(path):
    import nibabel as nib

    try:
        img = nib.load(path)
    except Exception as err:   # nibabel raises several types for unreadable files
        raise RecordingError(path, f"cannot read as NIfTI ({type(err).__name__})") from None
    if img.ndim != 4 or img.shape[3] < 2:
        raise RecordingError(path, f"expected a 4-D run with at least 2 frames, got shape "
                                   f"{img.shape}; region series need volume.require_4d: true")
    return img


# Parcellations fitted on exactly the same runs (paths, sizes, modification times) with
# the same settings: the RMT routes of one fold share the training subjects, and a
# nilearn fit costs seconds per subject. The key is exact, so a hit returns what a fit
# would (nilearn's fit is deterministic for a given random_state); it cannot change
# a result.
_PARCELLATIONS: dict = {}


def _stamp(path):
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


class RegionsFromVolume(TransformerMixin, BaseEstimator):
    """Region time series of 4-D fMRI runs (nilearn maskers; atlas or parcellation).

    Parameters
    ----------
    atlas : str or path, optional
        Integer label image (NIfTI, 0 = background). ``None``: fit a parcellation.
    method : str
        Parcellation method when ``atlas`` is None (see :data:`PARCELLATION_METHODS`).
    n_parcels : int
        Regions of the parcellation.
    smoothing_fwhm : float, optional
        Smoothing (mm) of the runs before the parcellation is fitted.
    detrend, standardize : bool
        Signal cleaning of each region series (nilearn): linear detrending, z-scoring.
    low_pass, high_pass : float, optional
        Band-pass edges in Hz (need ``t_r``).
    t_r : float, optional
        Repetition time in seconds; default: each run's header (pixdim[4]).
    random_state : int
        Seed of the parcellation.

    Attributes
    ----------
    labels_ : ndarray of int, shape (x, y, z)
        The atlas's labels, or the fitted parcellation's (0 = background).
    affine_ : ndarray, shape (4, 4)
        Their voxel-to-world affine. Plain arrays, so that a trained route is stored
        in a model bundle without nibabel objects.
    fitted_paths_ : tuple of str
        The runs the parcellation was fitted on (empty for a given atlas): the
        evidence that no test subject took part.
    n_regions_ : int

    Notes
    -----
    ``X`` is a list of paths (or ``(subject_id, path)`` pairs); ``transform`` returns
    one array ``(n_regions, n_timepoints)`` per run, neurodx's layout for region
    series (regions are the channels, time points the samples), ready for
    :class:`neurodx.rmt.EigenSpectra` with ``sfreq = 1 / TR`` or ``1``.
    """

    def __init__(self, atlas=None, method="ward", n_parcels=20, smoothing_fwhm=None,
                 detrend=True, standardize=True, low_pass=None, high_pass=None, t_r=None,
                 random_state=0):
        self.atlas = atlas
        self.method = method
        self.n_parcels = n_parcels
        self.smoothing_fwhm = smoothing_fwhm
        self.detrend = detrend
        self.standardize = standardize
        self.low_pass = low_pass
        self.high_pass = high_pass
        self.t_r = t_r
        self.random_state = random_state

    def _validate_params(self):
        if self.atlas is None:
            if self.method not in PARCELLATION_METHODS:
                raise ConfigError(f"volume.parcellation: expected one of "
                                  f"{', '.join(PARCELLATION_METHODS)}, got {self.method!r}")
            if not (isinstance(self.n_parcels, Integral) and self.n_parcels >= 2):
                raise ConfigError(f"volume.n_parcels: expected an integer >= 2, got "
                                  f"{self.n_parcels!r}")
        for name in ("low_pass", "high_pass", "t_r", "smoothing_fwhm"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, Real) and value > 0):
                raise ConfigError(f"volume.{name}: expected a positive number or null, "
                                  f"got {value!r}")

    def fit(self, X, y=None):
        """Load the atlas, or fit the parcellation on the runs of ``X``.

        Parameters
        ----------
        X : list of paths or (subject_id, path) pairs
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        paths = [_path(item) for item in X]
        if not paths:
            raise ConfigError("no runs to fit the region step on")
        if self.atlas is not None:
            img = self._load_atlas()
            self.fitted_paths_ = ()
        else:
            img = self._fit_parcellation(paths)
            self.fitted_paths_ = tuple(paths)
        self.labels_ = np.asarray(img.dataobj).astype(np.int32)
        self.affine_ = np.asarray(img.affine, dtype=np.float64)
        labels = np.unique(self.labels_)
        self.n_regions_ = int(np.sum(labels != 0))
        if self.n_regions_ < 2:
            raise ConfigError(f"the region step found {self.n_regions_} region(s) in "
                              f"{self.atlas or 'the parcellation'}; need at least 2")
        return self

    def _fit_parcellation(self, paths):
        import nibabel as nib

        key = (self.method, int(self.n_parcels), self.smoothing_fwhm, self.random_state,
               tuple((p, *_stamp(p)) for p in paths))
        cached = _PARCELLATIONS.get(key)
        if cached is None:
            from nilearn.regions import Parcellations

            parcellation = Parcellations(
                method=self.method, n_parcels=int(self.n_parcels),
                random_state=self.random_state, smoothing_fwhm=self.smoothing_fwhm,
                standardize="zscore_sample", detrend=True, mask_strategy="epi", verbose=0)
            parcellation.fit([_load_run(p) for p in paths])
            img = parcellation.labels_img_
            cached = (np.asarray(img.dataobj).astype(np.int32), img.affine.copy())
            _PARCELLATIONS[key] = cached
            while len(_PARCELLATIONS) > 8:
                _PARCELLATIONS.pop(next(iter(_PARCELLATIONS)))
        return nib.Nifti1Image(cached[0].copy(), cached[1].copy())

    def _load_atlas(self):
        import nibabel as nib

        path = Path(self.atlas)
        if not path.is_file():
            raise ConfigError(f"volume.atlas: {path} is not a file (give a NIfTI label "
                              "image; atlases are never downloaded)")
        try:
            img = nib.load(str(path))
        except Exception as err:
            raise ConfigError(f"volume.atlas: {path} cannot be read as NIfTI "
                              f"({type(err).__name__})") from None
        data = np.asarray(img.dataobj)
        if img.ndim != 3 or not np.allclose(data, np.round(data)):
            raise ConfigError(f"volume.atlas: {path} must be a 3-D image of integer labels, "
                              f"got shape {img.shape}")
        return img

    def transform(self, X):
        """Region time series of every run.

        Returns
        -------
        series : list of ndarray, each (n_regions, n_timepoints)
        """
        check_is_fitted(self, "labels_")
        import nibabel as nib
        from nilearn.maskers import NiftiLabelsMasker

        labels_img = nib.Nifti1Image(self.labels_, self.affine_)
        out = []
        for item in X:
            path = _path(item)
            img = _load_run(path)
            t_r = self.t_r or float(img.header.get_zooms()[3]) or None
            masker = NiftiLabelsMasker(
                labels_img, resampling_target="data", detrend=self.detrend,
                standardize="zscore_sample" if self.standardize else False,
                low_pass=self.low_pass, high_pass=self.high_pass, t_r=t_r,
                keep_masked_labels=False, reports=False, verbose=0)
            series = masker.fit_transform(img)
            if series.shape[1] != self.n_regions_:
                # a label absent after resampling would shift every later column
                raise RecordingError(path, f"{series.shape[1]} of the {self.n_regions_} "
                                           "regions cover this run's grid; check that "
                                           "volume.atlas matches the runs' space")
            out.append(np.ascontiguousarray(series.T, dtype=np.float64))
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags
