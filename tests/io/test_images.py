import numpy as np
import pytest
from PIL import Image

from neurodx.errors import RecordingError
from neurodx.io.images import IMAGE_AFFINE, natural_key, read_image_slices


def _png(path, arr, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(arr) if mode is None else Image.fromarray(arr).convert(mode)
    img.save(path)
    return path


def test_natural_key_orders_numbers_numerically():
    names = ["slice10.png", "slice2.png", "Slice1.png", "slice1b.png"]
    assert sorted(names, key=natural_key) == ["Slice1.png", "slice1b.png", "slice2.png",
                                              "slice10.png"]


def test_folder_of_slices_in_natural_order(tmp_path):
    rng = np.random.default_rng(0)
    slices = {k: rng.integers(0, 256, (6, 9), dtype=np.uint8) for k in (1, 2, 10)}
    for k, arr in slices.items():
        _png(tmp_path / "p" / f"img{k}.png", arr)
    img = read_image_slices(tmp_path / "p")
    assert img.shape == (9, 6, 3) and img.get_data_dtype() == np.uint8
    data = np.asarray(img.dataobj)
    for pos, k in enumerate((1, 2, 10)):  # plain sorting would put img10 second
        np.testing.assert_array_equal(data[:, :, pos], slices[k].T)
    np.testing.assert_array_equal(img.affine, IMAGE_AFFINE)


def test_rgb_and_rgba_become_grayscale(tmp_path):
    gray = np.random.default_rng(1).integers(0, 256, (5, 7), dtype=np.uint8)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    rgba = np.concatenate([rgb, np.full((5, 7, 1), 128, np.uint8)], axis=2)
    _png(tmp_path / "rgb.png", rgb)
    _png(tmp_path / "rgba.png", rgba)
    for name in ("rgb.png", "rgba.png"):
        img = read_image_slices(tmp_path / name)
        assert img.shape == (7, 5, 1)
        np.testing.assert_array_equal(np.asarray(img.dataobj)[:, :, 0], gray.T)
    coloured = rgb.copy()
    coloured[..., 0] = 255  # pure luma transform, not a channel pick
    _png(tmp_path / "red.png", coloured)
    expected = np.asarray(Image.fromarray(coloured).convert("L"))
    np.testing.assert_array_equal(np.asarray(read_image_slices(tmp_path / "red.png").dataobj)
                                  [:, :, 0], expected.T)


def test_jpeg_and_16_bit_png(tmp_path):
    arr16 = np.arange(4 * 5, dtype=np.uint16).reshape(4, 5) * 3000
    Image.fromarray(arr16).save(tmp_path / "deep.png")
    img = read_image_slices(tmp_path / "deep.png")
    assert img.get_data_dtype() == np.uint16
    np.testing.assert_array_equal(np.asarray(img.dataobj)[:, :, 0], arr16.T)
    Image.fromarray(np.full((8, 8), 100, np.uint8)).save(tmp_path / "one.jpg")
    assert read_image_slices(tmp_path / "one.jpg").shape == (8, 8, 1)


def test_bad_inputs_name_the_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordingError, match=r"empty: empty folder"):
        read_image_slices(tmp_path / "empty")
    _png(tmp_path / "mixed" / "a.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "mixed" / "notes.txt").write_text("x")
    with pytest.raises(RecordingError, match=r"mixed: 1 file\(s\) that are not PNG/JPEG.*notes.txt"):
        read_image_slices(tmp_path / "mixed")
    _png(tmp_path / "sizes" / "a1.png", np.zeros((4, 4), np.uint8))
    _png(tmp_path / "sizes" / "a2.png", np.zeros((4, 5), np.uint8))
    with pytest.raises(RecordingError, match=r"a2.png: image is 5x4 pixels, a1.png is 4x4"):
        read_image_slices(tmp_path / "sizes")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(RecordingError, match=r"corrupt.png: not a readable image"):
        read_image_slices(corrupt)
    good = _png(tmp_path / "cut.png", np.random.default_rng(0).integers(0, 256, (64, 64),
                                                                        dtype=np.uint8))
    good.write_bytes(good.read_bytes()[:200])
    with pytest.raises(RecordingError, match=r"cut.png: not a readable image"):
        read_image_slices(good)
