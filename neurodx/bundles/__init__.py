"""Trained routes as verified bundles: train once, score many.

* :func:`train_route` fits one route of a study on every usable subject;
* :func:`save_bundle` / :func:`load_bundle` write and verify a bundle folder
  (skops for scikit-learn parts, safetensors for CNN weights, ``manifest.json``
  with the expected input and the SHA-256 of every file; nothing pickled;
  optionally signed, :mod:`neurodx.bundles.signing`);
* :func:`load_checked_input` checks one recording against a bundle's manifest.

Scoring many recordings with a bundle is :mod:`neurodx.scoring`.
"""
from .expected import expected_input, load_checked_input
from .store import Bundle, load_bundle, save_bundle
from .signing import read_key
from .train import train_route
from .trust import TRUSTED_PACKAGES, TRUSTED_TYPES, is_trusted

__all__ = ["Bundle", "save_bundle", "load_bundle", "train_route", "expected_input",
           "load_checked_input", "read_key", "TRUSTED_PACKAGES", "TRUSTED_TYPES",
           "is_trusted"]
