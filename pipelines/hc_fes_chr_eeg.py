"""HC / FES / CHR from resting-state EEG: three RMT-family routes and the EEG CNN.

Routes (each one estimator over a list of preprocessed recordings, mne Raw):

* ``rmt_les``       -- band windows -> correlation eigenvalues -> linear eigenvalue
  statistics (von Neumann entropy, log-det, ... standardised by their MP null)
  -> per-subject mean/sd/median/IQR -> scaler -> classifier (Liu, Qiu et al. 2017).
* ``rmt_tangent``   -- band windows -> RMT-cleaned covariances (MP clipping or
  Ledoit-Wolf 2020 nonlinear shrinkage) -> per-band Riemannian tangent space ->
  scaler -> classifier.
* ``tangent_space`` -- the field's baseline: pyRiemann ``Covariances`` per band ->
  tangent space -> scaler -> classifier.
* ``eeg_cnn``       -- 7-layer Deep4Net-style window CNN, windows voted per subject
  (:class:`neurodx.models.WindowVotingClassifier`, a model preset). It resamples each
  recording to the preset's rate (or ``preprocessing.sfreq`` when the config sets it).
* ``kind: braindecode`` (``model: ShallowFBCSPNet`` / ``EEGNet`` / ``Deep4Net``) -- the
  field's EEG networks as peers, trained and voted like ``eeg_cnn``; left out with a
  warning without the optional ``braindecode`` extra.

Group labels, channel names and sampling rate come from the cohort (``context``).
"""
from neurodx.errors import ConfigError
from neurodx.evaluation import build_braindecode_route, build_from_config, build_preset_route
from neurodx.rmt import RMT_ROUTE_KINDS, make_les_pipeline


def build_routes(context):
    cfg = context.config
    bands = {name: (tuple(edges) if edges else None)
             for name, edges in cfg["windows"]["bands"].items()}
    routes = []
    for name, params in cfg["routes"].items():
        kind = params["kind"]
        if kind == "cnn":
            routes.append(build_preset_route(name, params, seed=context.seed, context=context))
            continue
        if kind == "braindecode":
            route = build_braindecode_route(name, params, seed=context.seed, context=context)
            if route is not None:
                routes.append(route)
            continue
        if kind not in RMT_ROUTE_KINDS:
            raise ConfigError(f"routes.{name}: unknown kind {kind!r} for this study "
                              f"(known: {', '.join(RMT_ROUTE_KINDS)}, cnn, braindecode)")
        factory, stateless = RMT_ROUTE_KINDS[kind]
        fixed = dict(bands=bands, window=cfg["windows"]["length"], random_state=context.seed)
        if factory is make_les_pipeline:
            fixed["overlap"] = cfg["windows"]["overlap"]
        routes.append(build_from_config(name, factory, params, stateless, **fixed))
    return routes
