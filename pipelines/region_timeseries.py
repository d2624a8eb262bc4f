"""Groups from fMRI region time series: RMT routes and the tangent-space baseline.

Same routes as the EEG study, on one unfiltered "broadband" band: an fMRI region
series is band-passed upstream (fMRIPrep, nilearn), and TR is rarely stored with
it, so windows are counted in time points (``sfreq = 1``).

* ``rmt_les``       -- windowed correlation eigenvalues -> LES -> subject stats -> classifier
* ``rmt_tangent``   -- RMT-cleaned covariances -> tangent space -> classifier
* ``tangent_space`` -- pyRiemann covariances -> tangent space -> classifier (baseline)
"""
from neurodx.errors import ConfigError
from neurodx.evaluation import Route, build_from_config
from neurodx.rmt import make_les_pipeline, make_rmt_tangent_pipeline, make_tangent_space_pipeline

FACTORIES = {"rmt_les": (make_les_pipeline, 3), "rmt_tangent": (make_rmt_tangent_pipeline, 1),
             "tangent_space": (make_tangent_space_pipeline, 1)}
BROADBAND = {"broadband": None}


def build_routes(context):
    cfg = context.config
    routes = []
    for name, params in cfg["routes"].items():
        if params["kind"] not in FACTORIES:
            raise ConfigError(f"routes.{name}: unknown kind {params['kind']!r} for this study "
                              f"(known: {', '.join(FACTORIES)})")
        factory, stateless = FACTORIES[params["kind"]]
        fixed = dict(bands=BROADBAND, sfreq=1.0, window=cfg["windows"]["length"],
                     random_state=context.seed)
        if factory is make_les_pipeline:
            fixed["overlap"] = cfg["windows"]["overlap"]
        routes.append(Route(name, build_from_config(name, factory, params, **fixed), stateless,
                            description=params.get("description", "")))
    return routes
