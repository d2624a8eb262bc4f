"""Exported 2-D image slices (PNG/JPEG) read through Pillow as one-volume images.

Researchers often have only exported slices: a folder of PNG/JPG files per
patient (one per slice) or a single image per patient. Both become a volume:
a single image is a one-slice volume.

Conventions (documented because the files carry no geometry):

* slices are ordered by a *natural* sort of their file names
  (``slice2.png`` before ``slice10.png``);
* colour images (RGB, RGBA, palette, LA) become grayscale with Pillow's ITU-R
  601-2 luma transform; alpha is ignored. 16-bit grayscale PNGs keep 16 bits;
* images are assumed to be axial slices exported the way a DICOM viewer shows
  them (patient's right on the image's left, anterior at the top), so they get
  the same array layout as an axial DICOM series (``data[i, j, k]`` = column
  ``i``, row ``j`` of slice ``k``) and the affine ``diag(-1, -1, 1)``: 1 mm
  pixels and slices, because the true spacing is unknown;
* values are display grey levels, not Hounsfield units: the image is labelled
  ``"display"`` with its full scale (255 for 8-bit, 65535 for 16-bit; see
  :mod:`neurodx.io.units`), and the CT presets send it through the display path
  (grey scaled to [0, 1]) instead of the HU windows.
"""
from __future__ import annotations

import re
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import RecordingError
from .units import DISPLAY, label_unit

__all__ = ["IMAGE_SUFFIXES", "is_image_file", "natural_key", "read_image_slices",
           "image_files", "IMAGE_AFFINE"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: Affine given to image slices: axial, radiological display, 1 mm (see module docstring).
IMAGE_AFFINE = np.diag([-1.0, -1.0, 1.0, 1.0])


def is_image_file(path: str | Path) -> bool:
    """True for ``.png``, ``.jpg``, ``.jpeg`` names (case-insensitive)."""
    return Path(path).name.lower().endswith(IMAGE_SUFFIXES)


def natural_key(name: str) -> tuple:
    """Sort key treating digit runs as numbers: ``s2`` < ``s10``."""
    return tuple((0, int(tok), "") if tok.isdigit() else (1, 0, tok.lower())
                 for tok in re.split(r"(\d+)", name) if tok)


def image_files(folder: str | Path) -> list[Path]:
    """Visible image files of ``folder`` in natural order.

    Raises
    ------
    RecordingError
        Empty folder, or files that are not PNG/JPEG (one folder = one patient's
        slices, nothing else; the message names them).
    """
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    if not files:
        raise RecordingError(folder, "empty folder: no image slices")
    others = sorted(p.name for p in files if not is_image_file(p))
    if others:
        raise RecordingError(folder, f"{len(others)} file(s) that are not PNG/JPEG slices: "
                                     f"{', '.join(others[:5])}" + (" ..." if len(others) > 5 else ""))
    return sorted(files, key=lambda p: natural_key(p.name))


def _read_image(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im.load()  # decode now: a truncated file fails here, not later
            if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                arr = np.asarray(im)
                if arr.dtype.kind in "iu" and arr.size and arr.min() >= 0 and arr.max() < 2 ** 16:
                    arr = arr.astype(np.uint16)
            else:
                arr = np.asarray(im.convert("L"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as err:   # a header claiming billions of pixels
        raise RecordingError(path, f"not a readable image ({type(err).__name__}: {err})"
                             ) from None
    if arr.ndim != 2:
        raise RecordingError(path, f"unexpected image array shape {arr.shape}")
    if arr.dtype not in (np.uint8, np.uint16):
        # 32-bit integer or float images have no display full scale to divide by.
        raise RecordingError(path, f"{arr.dtype} pixels (image mode {im.mode}); neurodx reads "
                                   "8- and 16-bit grey or colour images")
    return arr


def read_image_slices(path: str | Path) -> nib.Nifti1Image:
    """Read one PNG/JPEG image, or a folder of them, as a volume.

    Parameters
    ----------
    path : str | Path
        An image file (a one-slice volume) or a folder of slices.

    Returns
    -------
    nibabel.Nifti1Image
        Shape ``(width, height, n_slices)``; uint8 for 8-bit images, uint16 for
        16-bit ones (see the module docstring for layout and affine). Labelled
        ``"display"``, with the full scale of its bit depth (:mod:`neurodx.io.units`).

    Raises
    ------
    RecordingError
        Naming the file: unreadable or non-image files, empty folder, slices of
        different sizes.
    """
    path = Path(path)
    if not path.exists():
        raise RecordingError(path, "not found")
    files = image_files(path) if path.is_dir() else [path]
    slices = [_read_image(f) for f in files]
    first = slices[0]
    for f, arr in zip(files, slices):
        if arr.shape != first.shape:
            raise RecordingError(f, f"image is {arr.shape[1]}x{arr.shape[0]} pixels, "
                                    f"{files[0].name} is {first.shape[1]}x{first.shape[0]}: "
                                    "slices of one patient must share a size")
        if arr.dtype != first.dtype:
            # One full scale per patient: 8-bit 255 and 16-bit 255 are different greys.
            raise RecordingError(f, f"{8 * arr.dtype.itemsize}-bit image, {files[0].name} is "
                                    f"{8 * first.dtype.itemsize}-bit: slices of one patient "
                                    "must share a bit depth")
    dtype = first.dtype
    data = np.stack([a.T for a in slices], axis=-1).astype(dtype, copy=False)
    img = nib.Nifti1Image(data, IMAGE_AFFINE)
    img.header.set_xyzt_units("mm")
    img.header["descrip"] = b"neurodx from 2-D images: unknown spacing, not HU"
    return label_unit(img, DISPLAY, float(np.iinfo(dtype).max))
