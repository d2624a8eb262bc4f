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
* ``eeg_cnn``       -- window CNN, windows voted per subject
  (:class:`neurodx.models.WindowVotingClassifier`, a model preset: ``eeg_hc_fes_chr``
  the shallow log-power network, ``eeg_deep7`` the study's 7-layer Deep4Net-style one). It resamples each
  recording to the preset's rate (or ``preprocessing.sfreq`` when the config sets it).
* ``kind: braindecode`` (``model: ShallowFBCSPNet`` / ``EEGNet`` / ``Deep4Net``) -- the
  field's EEG networks as peers, trained and voted like ``eeg_cnn``; left out with a
  warning without the optional ``braindecode`` extra.

Group labels, channel names and sampling rate come from the cohort (``context``).
"""
from neurodx.study import build_routes as standard_routes


def build_routes(context):
    # Only standard routes: the default of a config without ``pipeline:``.
    return standard_routes(context)
