"""Groups from fMRI region time series: RMT routes and the tangent-space baseline.

Same routes as the EEG study, on one unfiltered "broadband" band: an fMRI region
series is band-passed upstream (fMRIPrep, nilearn), and TR is rarely stored with
it, so windows are counted in time points (``sfreq = 1``).

* ``rmt_les``       -- windowed correlation eigenvalues -> LES -> subject stats -> classifier
* ``rmt_tangent``   -- RMT-cleaned covariances -> tangent space -> classifier
* ``tangent_space`` -- pyRiemann covariances -> tangent space -> classifier (baseline)
"""
from neurodx.study import build_routes as standard_routes


def build_routes(context):
    # Only standard routes: the default of a config without ``pipeline:``.
    return standard_routes(context)
