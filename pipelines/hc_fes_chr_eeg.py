"""HC / FES / CHR from resting-state EEG: three RMT-family routes and the EEG CNN.

Routes (each one sklearn Pipeline over a list of preprocessed recordings):

* ``rmt_les``       -- band windows -> correlation eigenvalues -> linear eigenvalue
  statistics (von Neumann entropy, log-det, ... standardised by their MP null)
  -> per-subject mean/sd/median/IQR -> scaler -> classifier (Liu, Qiu et al. 2017).
* ``rmt_tangent``   -- band windows -> RMT-cleaned covariances (MP clipping or
  Ledoit-Wolf 2020 nonlinear shrinkage) -> per-band Riemannian tangent space ->
  scaler -> classifier.
* ``tangent_space`` -- the field's baseline: pyRiemann ``Covariances`` per band ->
  tangent space -> scaler -> classifier.

Group labels, channel names and sampling rate come from the cohort (``context``).
"""
from neurodx.evaluation import Route, build_from_config
from neurodx.rmt import make_les_pipeline, make_rmt_tangent_pipeline, make_tangent_space_pipeline

# Leading steps that learn nothing from other subjects; the harness runs them once.
STATELESS = {make_les_pipeline: 3, make_rmt_tangent_pipeline: 1, make_tangent_space_pipeline: 1}
FACTORIES = {"rmt_les": make_les_pipeline, "rmt_tangent": make_rmt_tangent_pipeline,
             "tangent_space": make_tangent_space_pipeline}


def build_routes(context):
    cfg = context.config
    bands = {name: (tuple(edges) if edges else None)
             for name, edges in cfg["windows"]["bands"].items()}
    routes = []
    for name, params in cfg["routes"].items():
        if params["kind"] not in FACTORIES:
            from neurodx.errors import ConfigError
            raise ConfigError(f"routes.{name}: unknown kind {params['kind']!r} for this study "
                              f"(known: {', '.join(FACTORIES)})")
        factory = FACTORIES[params["kind"]]
        fixed = dict(bands=bands, window=cfg["windows"]["length"], random_state=context.seed)
        if factory is make_les_pipeline:
            fixed["overlap"] = cfg["windows"]["overlap"]
        pipeline = build_from_config(name, factory, params, **fixed)
        routes.append(Route(name, pipeline, STATELESS[factory],
                            description=params.get("description", factory.__doc__.split("\n")[0])))
    return routes
