"""Brain CT: normal / infarct / hemorrhage (or any two or more classes) from head CT.

Route (a subject-level estimator over a list of scans: DICOM series folders, NIfTI
volumes, folders of PNG/JPG slices, or one image per patient):

* ``cnn7`` -- the study's 7-convolutional-layer CNN on 256 x 256 slices, with the
  brain / subdural / bone Hounsfield windows stacked as input channels; slices of a
  patient are soft-voted (mean probability); a single-image patient is one vote
  (:class:`neurodx.models.SliceVotingClassifier`, mode ``pooled``).

The route is a model preset (``neurodx.models.PRESETS``); any preset setting can be
overridden in the config or with ``neurodx compare --set routes.NAME.KEY=VALUE``.
Class labels come from the cohort, so a two-class cohort works unchanged.
"""
from neurodx.evaluation import preset_routes


def build_routes(context):
    return preset_routes(context)
