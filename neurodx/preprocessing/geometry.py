"""Orientation and resampling of volumes, keeping the affine right.

Canonical orientation is RAS+ (nibabel's "closest canonical"): array axis 0
runs to the subject's Right, 1 to Anterior, 2 to Superior, so axial slices are
``data[:, :, k]`` whatever the scanner wrote. Reorientation only permutes and
flips axes (no interpolation); resampling interpolates with ``scipy.ndimage``.
"""
from __future__ import annotations

from collections.abc import Sequence

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, inv_ornt_aff, io_orientation
from scipy import ndimage

from ..errors import ConfigError

__all__ = ["orientation_codes", "canonical_orientation", "to_canonical", "reorient_array",
           "resample", "resize_slice", "fit_slice"]


def orientation_codes(img_or_affine) -> str:
    """Axis codes of an image or affine, e.g. ``"RAS"`` or ``"LPS"``."""
    affine = getattr(img_or_affine, "affine", img_or_affine)
    return "".join(nib.aff2axcodes(affine))


def canonical_orientation(affine: np.ndarray) -> np.ndarray:
    """The nibabel orientation array taking voxel axes of ``affine`` to RAS+."""
    return io_orientation(affine)


def reorient_array(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Permute/flip the first three axes of ``data`` to RAS+; trailing axes (time) are kept.

    Works on any array whose first three axes match ``affine`` (a whole volume
    or a block of frames), which is how 4-D runs are reoriented without being
    loaded whole.

    Returns
    -------
    data : ndarray
        Reoriented (a view when only flips/permutations are needed).
    affine : ndarray
        The affine of the reoriented array.
    """
    ornt = io_orientation(affine)
    if np.array_equal(ornt, [[0, 1], [1, 1], [2, 1]]):
        return data, affine
    out = apply_orientation(data, ornt)
    return out, affine @ inv_ornt_aff(ornt, data.shape[:3])


def to_canonical(img):
    """``nibabel.as_closest_canonical``: the image reoriented to RAS+.

    Returns ``img`` itself when already canonical. Otherwise the voxels are
    loaded; for 4-D runs streamed frame by frame, use :func:`reorient_array` on
    each block instead (as the slice dataset does).
    """
    return nib.as_closest_canonical(img)


def _target(shape3, zooms3, shape, spacing):
    if (shape is None) == (spacing is None):
        raise ConfigError("give exactly one of shape= or spacing=")
    if shape is not None:
        shape = tuple(int(n) for n in shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ConfigError(f"shape must be 3 positive sizes, got {shape!r}")
        return shape
    spacing = np.broadcast_to(np.asarray(spacing, dtype=float), (3,))
    if np.any(spacing <= 0):
        raise ConfigError(f"spacing must be positive, got {tuple(spacing)}")
    # Keep the field of view: n_new * new_spacing ~= n_old * old_spacing.
    return tuple(max(1, int(round(n * z / s))) for n, z, s in zip(shape3, zooms3, spacing))


def resample(img, *, shape: Sequence[int] | None = None,
             spacing: float | Sequence[float] | None = None, order: int = 1) -> nib.Nifti1Image:
    """Resample the spatial axes to a target shape or voxel spacing, same field of view.

    The grid is edge-aligned (``scipy.ndimage.zoom(grid_mode=True)``): the new
    voxels tile the same box as the old ones, and the affine is updated so
    every voxel keeps its world position. 4-D images are resampled frame by
    frame (the data are loaded).

    Parameters
    ----------
    img : nibabel image
    shape : 3 ints, optional
        Target spatial shape.
    spacing : float or 3 floats, optional
        Target voxel size in mm (give ``shape`` or ``spacing``).
    order : int
        Spline order: 0 nearest (labels, masks), 1 linear (default), 3 cubic.

    Returns
    -------
    nibabel.Nifti1Image
        float32 data (int data stays int when ``order=0``).
    """
    old_shape = tuple(img.shape[:3])
    zooms = np.sqrt((img.affine[:3, :3] ** 2).sum(axis=0))
    new_shape = _target(old_shape, zooms, shape, spacing)
    factors = np.array(new_shape, float) / np.array(old_shape, float)
    data = np.asanyarray(img.dataobj)
    if order != 0:
        data = data.astype(np.float32, copy=False)
    zoom = tuple(factors) + (1.0,) * (data.ndim - 3)
    out = ndimage.zoom(data, zoom, order=order, mode="grid-constant" if order == 0 else "nearest",
                       grid_mode=True)
    # Voxel centre i' of the new grid sits at (i' + 0.5) / f - 0.5 of the old one.
    scale = np.diag(list(1.0 / factors) + [1.0])
    scale[:3, 3] = 0.5 / factors - 0.5
    affine = img.affine @ scale
    new = nib.Nifti1Image(out, affine)
    if hasattr(img.header, "get_xyzt_units"):
        new.header.set_xyzt_units(*img.header.get_xyzt_units())
    if data.ndim == 4:
        new.header.set_zooms(tuple(new.header.get_zooms()[:3]) + (img.header.get_zooms()[3],))
    return new


def resize_slice(arr: np.ndarray, shape: Sequence[int], order: int = 1) -> np.ndarray:
    """Resize a 2-D slice (or ``(C, H, W)`` stack, last two axes) to ``shape``, edge-aligned."""
    arr = np.asarray(arr)
    shape = tuple(int(n) for n in shape)
    if arr.shape[-2:] == shape:
        return arr
    factors = (1.0,) * (arr.ndim - 2) + tuple(n / m for n, m in zip(shape, arr.shape[-2:]))
    out = ndimage.zoom(arr.astype(np.float32, copy=False), factors, order=order, mode="nearest",
                       grid_mode=True)
    return out


def fit_slice(arr: np.ndarray, shape: Sequence[int], *, order: int = 1,
              fill: float = 0.0) -> np.ndarray:
    """Fit a 2-D slice (or ``(C, H, W)`` stack) into ``shape``: keep its aspect, pad the rest.

    The slice is scaled by one factor, the largest that fits it inside
    ``shape`` (``min(H / h, W / w)``), then centred and padded with ``fill``.
    Every slice, whatever its size and whatever its class, is brought to the
    network's input this same way, so image size alone tells nothing: a 200 x 200
    and a 300 x 300 export of the same scan give the same input (a stretch would
    distort non-square images, and padding without scaling would make the
    border width a give-away of the size). Shrinking is anti-aliased (Gaussian
    blur of sigma ``(1/f - 1) / 2`` pixels first, as ``skimage.transform.resize``
    does), so noise and fine texture do not depend on the source resolution.

    Parameters
    ----------
    arr : ndarray
        ``(h, w)`` or ``(C, h, w)``.
    shape : (H, W)
        Output in-plane shape.
    order : int
        Spline order of the interpolation (1: linear).
    fill : float
        Value of the padding (0: black after CT windows or display scaling).

    Returns
    -------
    ndarray
        float32 ``(H, W)`` or ``(C, H, W)``.
    """
    arr = np.asarray(arr, dtype=np.float32)
    shape = tuple(int(n) for n in shape)
    h, w = arr.shape[-2:]
    if (h, w) == shape:
        return arr
    f = min(shape[0] / h, shape[1] / w)
    inner = (min(shape[0], max(1, int(round(h * f)))), min(shape[1], max(1, int(round(w * f)))))
    lead = (0.0,) * (arr.ndim - 2)
    if f < 1:
        sigma = (1.0 / f - 1.0) / 2.0
        arr = ndimage.gaussian_filter(arr, lead + (sigma, sigma), mode="nearest")
    factors = (1.0,) * (arr.ndim - 2) + (inner[0] / h, inner[1] / w)
    scaled = ndimage.zoom(arr, factors, order=order, mode="nearest", grid_mode=True)
    # zoom rounds the output size itself; make it exactly ``inner``.
    scaled = scaled[..., :inner[0], :inner[1]]
    out = np.full(arr.shape[:-2] + shape, fill, dtype=np.float32)
    top, left = (shape[0] - scaled.shape[-2]) // 2, (shape[1] - scaled.shape[-1]) // 2
    out[..., top:top + scaled.shape[-2], left:left + scaled.shape[-1]] = scaled
    return out
