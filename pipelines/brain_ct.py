"""Brain CT: normal / infarct / hemorrhage (or any two or more classes) from head CT.

Route (a subject-level estimator over a list of scans: DICOM series folders, NIfTI
volumes, folders of PNG/JPG slices, or one image per patient):

* ``cnn7`` -- a slice CNN on 256 x 256 slices (preset ``ct``: 4 convolutional layers with
  global max pooling; preset ``ct7``: the study's published 7-layer design), with the
  brain / subdural / bone Hounsfield windows stacked as input channels for scans in HU,
  and the display path for PNG/JPG exports (grey levels scaled to [0, 1] on the same 3
  channels; chosen per scan by its unit, config key ``volume.intensity``); slices keep
  their aspect and are padded to 256 x 256. Trained on the cohort's slice labels when it
  has a ``slices.tsv`` (config key ``volume.slice_labels``; training patients only); a
  patient's most lesion-like slices vote (``voting: topk``); a single-image patient is
  one vote (:class:`neurodx.models.SliceVotingClassifier`, mode ``pooled``).

The route is a model preset (``neurodx.models.PRESETS``); any preset setting can be
overridden in the config or with ``neurodx compare --set routes.NAME.KEY=VALUE``.
Class labels come from the cohort, so a two-class cohort works unchanged.
"""
from neurodx.study import build_routes as standard_routes


def build_routes(context):
    # Only standard routes: the default of a config without ``pipeline:``.
    return standard_routes(context)
