"""The intensity unit every volume carries: Hounsfield units or display grey levels.

A CT scan is either in Hounsfield units (HU: a DICOM series after
RescaleSlope/Intercept, a NIfTI converted from it) or in *display grey levels*
(a PNG/JPEG export: a window was already applied and the result stored as 8 or
16 bits). The two need different processing: HU windows turn HU into contrast,
and applied to grey levels they saturate (the brain window clips every grey
level above 80) or squash the image (the bone window). So the unit travels with
the data, from the reader to the network and into a trained bundle.

Where the unit is kept
----------------------
Readers label the nibabel image they return in ``img.extra`` (nibabel's own
dictionary for information outside the header): ``img.extra["neurodx_unit"]``,
and for display images ``img.extra["neurodx_full_scale"]`` (255 or 65535). The
public return type stays a ``Nifti1Image`` and every caller keeps working;
nothing is written into the header, so an image saved again does not claim a
unit a later reader would trust. An image made from another one (reoriented,
resampled) does not inherit ``extra``: read the unit from the image a reader
returned.

Units
-----
* ``"HU"``: DICOM whose Modality is CT, whose RescaleType is HU, or that has no
  Modality but a RescaleIntercept (values after rescaling are HU).
* ``"display"``: PNG/JPEG slices (8/16-bit grey, RGB, RGBA, palette: converted
  to grey by the image reader).
* ``"unknown"``: NIfTI files (the format does not say), other DICOM modalities,
  plain arrays.

What an unknown unit is comes from the config key ``volume.intensity``:
``auto`` (default) keeps the reader's unit and, where a unit is needed (the CT
presets), takes a volume with values below -500 as HU: air is about -1000 HU,
and grey levels and MR magnitudes are never negative; ``hu`` declares HU;
``display`` declares grey levels. A setting that contradicts a file's own unit
(``hu`` on PNG/JPEG, ``display`` on DICOM CT) is refused.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["HU", "DISPLAY", "UNKNOWN", "INTENSITY_SETTINGS", "AIR_BELOW_HU", "volume_unit",
           "display_full_scale", "label_unit", "resolve_unit", "describe_unit",
           "check_intensity_setting"]

HU, DISPLAY, UNKNOWN = "HU", "display", "unknown"
#: Values of the config key ``volume.intensity``.
INTENSITY_SETTINGS = ("auto", "hu", "display")
#: Under ``auto``, a volume of unknown unit with values below this is taken as HU (air).
AIR_BELOW_HU = -500.0

_UNIT_KEY, _SCALE_KEY = "neurodx_unit", "neurodx_full_scale"
_DESCRIPTIONS = {HU: "Hounsfield units (HU)",
                 DISPLAY: "display grey levels (PNG/JPEG, not HU)",
                 UNKNOWN: "values of unknown unit"}


def label_unit(img, unit: str, full_scale: float | None = None):
    """Record ``unit`` (and the display full scale) on a nibabel image; returns ``img``."""
    img.extra[_UNIT_KEY] = unit
    if full_scale is not None:
        img.extra[_SCALE_KEY] = float(full_scale)
    return img


def volume_unit(img) -> str:
    """The unit a reader recorded on ``img`` (``"unknown"`` for arrays and unlabelled images)."""
    extra = getattr(img, "extra", None) or {}
    return extra.get(_UNIT_KEY, UNKNOWN)


def display_full_scale(img) -> float | None:
    """Grey level of full white recorded by the image reader (255, 65535), or None."""
    extra = getattr(img, "extra", None) or {}
    return extra.get(_SCALE_KEY)


def describe_unit(unit: str | None) -> str:
    """Words for a unit, for messages: ``"HU"`` -> ``"Hounsfield units (HU)"``."""
    return _DESCRIPTIONS.get(unit or UNKNOWN, str(unit))


def _check_setting(setting: str) -> None:
    if setting not in INTENSITY_SETTINGS:
        raise ConfigError(f"volume.intensity must be one of {', '.join(INTENSITY_SETTINGS)}, "
                          f"got {setting!r}")


def _conflict(found: str, setting: str) -> str | None:
    """Why ``setting`` contradicts a file's own unit ``found``; None when it does not."""
    if setting == "hu" and found == DISPLAY:
        return ("holds display grey levels (PNG/JPEG), but volume.intensity is 'hu': "
                "Hounsfield windows do not apply to grey levels; set volume.intensity: auto")
    if setting == "display" and found == HU:
        return ("is DICOM CT in Hounsfield units, but volume.intensity is 'display'; "
                "set volume.intensity: auto")
    return None


def resolve_unit(found: str, setting: str = "auto", *, min_value: float | None = None,
                 source: str = "") -> str:
    """The unit to process a volume in, from its reader's unit and ``volume.intensity``.

    Parameters
    ----------
    found : {"HU", "display", "unknown"}
        What the reader recorded (:func:`volume_unit`).
    setting : {"auto", "hu", "display"}
        The config key ``volume.intensity``.
    min_value : float, optional
        The volume's smallest value. Given only where a unit is needed: under
        ``auto`` an unknown unit with values below :data:`AIR_BELOW_HU` is HU.
    source : str
        What the volume is (subject or file), for the message.

    Returns
    -------
    str
        ``"HU"``, ``"display"`` or ``"unknown"``.

    Raises
    ------
    ConfigError
        When ``setting`` contradicts the file's own unit.
    """
    _check_setting(setting)
    why = _conflict(found, setting)
    if why:
        raise ConfigError(f"{source}: {why}" if source else why)
    if setting == "hu":
        return HU
    if setting == "display":
        return DISPLAY
    if found == UNKNOWN and min_value is not None and np.isfinite(min_value) \
            and min_value < AIR_BELOW_HU:
        return HU
    return found


def check_intensity_setting(recordings, setting: str) -> None:
    """Refuse a ``volume.intensity`` setting that contradicts the cohort's files, in one line.

    Parameters
    ----------
    recordings : pandas.DataFrame
        :attr:`neurodx.io.CohortCheck.recordings` of a volume cohort (columns
        ``participant_id``, ``file``, ``units``).
    setting : {"auto", "hu", "display"}

    Raises
    ------
    ConfigError
        Naming the first file it contradicts and how many there are.
    """
    _check_setting(setting)
    if setting == "auto" or "units" not in recordings:
        return
    bad = [(r["participant_id"], r["file"], _conflict(r["units"] or UNKNOWN, setting))
           for _, r in recordings.iterrows()]
    bad = [b for b in bad if b[2]]
    if bad:
        pid, file, why = bad[0]
        more = f" ({len(bad) - 1} more file(s) like it)" if len(bad) > 1 else ""
        raise ConfigError(f"{pid} {file} {why}{more}")
