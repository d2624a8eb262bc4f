"""Frequency bands used to split EEG before the RMT stage."""
from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError

__all__ = ["DEFAULT_BANDS", "check_bands"]

#: Default bands in Hz (lower, upper): the HC/FES/CHR study's delta..low gamma.
DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "low_gamma": (30.0, 45.0),
}


def check_bands(bands: Mapping[str, tuple[float, float] | None] | None, sfreq: float | None = None
                ) -> dict[str, tuple[float, float] | None]:
    """Validate a band mapping and return it as ``{name: (low, high)}``.

    Parameters
    ----------
    bands : mapping or None
        ``{name: (low_hz, high_hz)}``; ``None`` gives :data:`DEFAULT_BANDS`. A band whose
        edges are ``None`` means "unfiltered" (e.g. ``{"broadband": None}`` for region
        time series that were band-passed upstream).
    sfreq : float, optional
        When given, every upper edge must lie below the Nyquist frequency.
    """
    if bands is None:
        bands = DEFAULT_BANDS
    if not isinstance(bands, Mapping) or not bands:
        raise ConfigError(f"bands must be a non-empty mapping name -> (low, high), got {bands!r}")
    out = {}
    for name, edges in bands.items():
        if edges is None:
            out[str(name)] = None
            continue
        try:
            low, high = (float(e) for e in edges)
        except (TypeError, ValueError):
            raise ConfigError(f"band {name!r}: expected (low, high) in Hz, got {edges!r}") from None
        if not 0 <= low < high:
            raise ConfigError(f"band {name!r}: need 0 <= low < high, got ({low}, {high})")
        if sfreq is not None and high >= sfreq / 2:
            raise ConfigError(f"band {name!r}: upper edge {high} Hz is not below the Nyquist "
                              f"frequency {sfreq / 2} Hz of data sampled at {sfreq} Hz")
        out[str(name)] = (low, high)
    return out
