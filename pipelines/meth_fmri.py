"""Methamphetamine users vs healthy controls from resting-state fMRI volumes.

Routes (each a subject-level estimator over a list of 4-D NIfTI paths):

* ``per_slice_cnn`` -- the study's design: one CNN per axial slice position (31 for
  64 x 64 x 31 volumes), every frame of every slice classified; each network's frames
  vote for one result per position, then the 31 results vote (``voting: two_level``;
  :class:`neurodx.models.SliceVotingClassifier`, mode ``ensemble``).
* ``shared_cnn``    -- one CNN shared by all slice positions, told the position
  through a learned embedding (fewer parameters; mode ``shared``).

Both are model presets (``neurodx.models.PRESETS``); any preset setting can be
overridden in the config or with ``neurodx compare --set routes.NAME.KEY=VALUE``.
Class labels and volume shape come from the cohort.
"""
from neurodx.evaluation import preset_routes


def build_routes(context):
    return preset_routes(context)
