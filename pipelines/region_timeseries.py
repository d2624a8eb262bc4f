"""Groups from fMRI region time series: RMT routes and the tangent-space baseline.

Same routes as the EEG study, on one unfiltered "broadband" band: an fMRI region
series is band-passed upstream (fMRIPrep, nilearn), and TR is rarely stored with
it, so windows are counted in time points (``sfreq = 1``).

* ``rmt_les``       -- windowed correlation eigenvalues -> LES -> subject stats -> classifier
* ``rmt_tangent``   -- RMT-cleaned covariances -> tangent space -> classifier
* ``tangent_space`` -- pyRiemann covariances -> tangent space -> classifier (baseline)
"""
from neurodx.errors import ConfigError
from neurodx.evaluation import build_from_config
from neurodx.rmt import RMT_ROUTE_KINDS, make_les_pipeline

# Region time series are already band-limited by fMRI preprocessing: one unfiltered band.
BROADBAND = {"broadband": None}


def build_routes(context):
    cfg = context.config
    routes = []
    for name, params in cfg["routes"].items():
        if params["kind"] not in RMT_ROUTE_KINDS:
            raise ConfigError(f"routes.{name}: unknown kind {params['kind']!r} for this study "
                              f"(known: {', '.join(RMT_ROUTE_KINDS)})")
        factory, stateless = RMT_ROUTE_KINDS[params["kind"]]
        # Time points are the samples (sfreq 1): window lengths are in time points.
        fixed = dict(bands=BROADBAND, sfreq=1.0, window=cfg["windows"]["length"],
                     random_state=context.seed)
        if factory is make_les_pipeline:
            fixed["overlap"] = cfg["windows"]["overlap"]
        routes.append(build_from_config(name, factory, params, stateless, **fixed))
    return routes
