"""Methamphetamine users vs healthy controls from resting-state fMRI volumes.

Both route families run on the same subject folds, from the same 4-D NIfTI runs.

CNN routes (model presets, ``kind: cnn``; slices streamed from the volumes):

* ``per_slice_cnn`` -- the study's design: one CNN per axial slice position (31 for
  64 x 64 x 31 volumes), every frame of every slice classified; each network's frames
  vote for one result per position, then the 31 results vote (``voting: two_level``;
  :class:`neurodx.models.SliceVotingClassifier`, mode ``ensemble``).
* ``shared_cnn``    -- one CNN shared by all slice positions, told the position
  through a learned embedding (fewer parameters; mode ``shared``).

RMT routes on region time series (``kind: rmt_les | rmt_tangent | tangent_space``):
each run becomes a (regions x time points) series
(:class:`neurodx.preprocessing.RegionsFromVolume`: nilearn masker, detrended and
z-scored), from ``volume.atlas`` when given (stateless: computed once per subject)
or from a parcellation (``volume.parcellation``, ``volume.n_parcels``) fitted inside
each fold on the training subjects only. The series then go through the same
routes as ``region_timeseries``, on one unfiltered "broadband" band, with windows
counted in **time points** (``sfreq = 1``; one time point = one TR, read from the
run headers; each route's description states the length in seconds too). The
region series are high-passed at ``volume.high_pass`` (0.01 Hz in the config, the
resting-state band's lower edge), which removes the scanner drift that otherwise
dominates region correlations.
"""
from dataclasses import replace
from pathlib import Path

from sklearn.pipeline import Pipeline

from neurodx.errors import ConfigError
from neurodx.evaluation import build_from_config, build_preset_route
from neurodx.preprocessing.regions_from_volume import RegionsFromVolume
from neurodx.rmt import RMT_ROUTE_KINDS, make_les_pipeline

BROADBAND = {"broadband": None}


def _repetition_time(cohort_path):
    """TR (s) of the cohort's first 4-D run, to state window lengths in seconds; or None."""
    import nibabel as nib

    for path in sorted(Path(cohort_path).rglob("*.nii*")) if cohort_path else ():
        try:
            img = nib.load(path)
        except Exception:   # not a readable NIfTI: the cohort check reports it
            continue
        if img.ndim == 4 and img.header.get_zooms()[3] > 0:
            return float(img.header.get_zooms()[3])
    return None


def _region_step(volume):
    return RegionsFromVolume(atlas=volume["atlas"], method=volume["parcellation"],
                             n_parcels=volume["n_parcels"], low_pass=volume["low_pass"],
                             high_pass=volume["high_pass"])


def _rmt_route(name, params, context):
    cfg = context.config
    factory, stateless = RMT_ROUTE_KINDS[params["kind"]]
    fixed = dict(bands=BROADBAND, sfreq=1.0, window=cfg["windows"]["length"],
                 random_state=context.seed)
    if factory is make_les_pipeline:
        fixed["overlap"] = cfg["windows"]["overlap"]
    route = build_from_config(name, factory, params, stateless, **fixed)
    volume = cfg["volume"]
    estimator = Pipeline([("regions", _region_step(volume)), *route.estimator.steps])
    # A given atlas learns nothing: regions and the route's own stateless steps run once
    # per subject. A parcellation is learnt from subjects: the whole route is fitted in
    # each fold, so no test subject's voxels shape the regions.
    n_stateless = stateless + 1 if volume["atlas"] else 0
    length = cfg["windows"]["length"]
    tr = _repetition_time(cfg["cohort"]["path"])
    unit = (f"windows of {length:g} time points = {length * tr:g} s at TR {tr:g} s"
            if tr else f"windows of {length:g} time points (one TR each)")
    source = "atlas" if volume["atlas"] else \
        f"{volume['parcellation']} parcellation ({volume['n_parcels']} parcels, fitted per fold)"
    return replace(route, estimator=estimator, stateless_steps=n_stateless,
                   description=f"{route.description} [region series: {source}; {unit}]")


def build_routes(context):
    cfg = context.config
    routes = []
    for name, params in cfg["routes"].items():
        kind = params["kind"]
        if kind == "cnn":
            fixed = {"intensity": cfg["volume"].get("intensity", "auto")}
            routes.append(build_preset_route(name, params, seed=context.seed, **fixed))
        elif kind in RMT_ROUTE_KINDS:
            routes.append(_rmt_route(name, params, context))
        else:
            raise ConfigError(f"routes.{name}: unknown kind {kind!r} for this study "
                              f"(known: cnn, {', '.join(RMT_ROUTE_KINDS)})")
    return routes
