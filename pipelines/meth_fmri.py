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
from neurodx.study import build_routes as standard_routes


def build_routes(context):
    # Only standard routes: the default of a config without ``pipeline:``.
    return standard_routes(context)
