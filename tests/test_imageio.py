import numpy as np
import pytest

from tests.imaging import to_12bit, write_dicom, write_jpeg, write_png, write_png16
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.errors import ImageReadError
from zsbench.imageio import expand_image_paths, load_for_model, read_image, resize_square


@pytest.fixture(scope="module")
def xray():
    world = SyntheticWorld(n_images=60, image_size=64, seed=0)
    # one without saturated pixels, so that the 16-bit stretch below is visible
    return next(image for image in map(world.render, range(60)) if image.max() < 255)


def stretched(pixels):
    """What deep images become, as for training on file datasets: min-max over the image, rounded
    half up, in exact integer arithmetic."""
    p = pixels.astype(np.int64)
    lo, hi = int(p.min()), int(p.max())
    return ((2 * 255 * (p - lo) + (hi - lo)) // (2 * (hi - lo))).astype(np.uint8)


def test_8bit_png_as_is_and_16bit_png_as_training_reads_it(xray, tmp_path):
    from zsbench.data.images import read_gray

    assert xray.max() < 255  # so that the stretch below is visible
    assert np.array_equal(read_image(write_png(tmp_path / "a.png", xray)).pixels, xray)
    img16 = read_image(write_png16(tmp_path / "b.png", xray))
    assert img16.source_bits == 16 and np.array_equal(img16.pixels, stretched(xray))
    assert np.array_equal(img16.pixels, read_gray(tmp_path / "b.png"))  # the training reader agrees


def test_colour_png_becomes_grey(xray, tmp_path):
    rgb = np.repeat(xray[..., None], 3, axis=2)
    assert np.array_equal(read_image(write_png(tmp_path / "rgb.png", rgb)).pixels, xray)


def test_jpeg_is_close(xray, tmp_path):
    img = read_image(write_jpeg(tmp_path / "a.jpg", xray))
    assert img.source_format == "JPEG"
    assert np.abs(img.pixels.astype(int) - xray).mean() < 3


def test_dicom_12bit_monochrome2_and_monochrome1(xray, tmp_path):
    stored = to_12bit(xray)
    m2 = read_image(write_dicom(tmp_path / "m2.dcm", stored))
    assert m2.source_format == "DICOM" and m2.source_bits == 12
    assert np.abs(m2.pixels.astype(int) - stretched(xray)).max() <= 1  # deep data: min-max, like PNG
    # MONOCHROME1 stores bone dark; the reader inverts it back (file name without a .dcm suffix)
    m1 = read_image(write_dicom(tmp_path / "m1", 4095 - stored, photometric="MONOCHROME1"))
    assert np.abs(m1.pixels.astype(int) - stretched(xray)).max() <= 1


def test_dicom_8bit_as_is(xray, tmp_path):
    from pydicom import dcmread

    path = write_dicom(tmp_path / "8.dcm", xray.astype(np.uint16), bits_stored=8)
    ds = dcmread(path)
    ds.BitsAllocated, ds.PixelData = 8, xray.tobytes()
    ds.save_as(path, enforce_file_format=True)
    assert np.array_equal(read_image(path).pixels, xray)


def test_dicom_window_after_rescale(xray, tmp_path):
    # CT-like: stored 0..1020, intercept -1024, window over exactly that range
    stored = xray.astype(np.uint16) * 4
    img = read_image(write_dicom(tmp_path / "w.dcm", stored, window=(-514, 1021), intercept=-1024))
    assert np.array_equal(img.pixels, xray)
    # a narrower window saturates: everything above the window is white
    narrow = read_image(write_dicom(tmp_path / "n.dcm", stored, window=(-900, 200), intercept=-1024)).pixels
    assert narrow.max() == 255 and (narrow == 255).mean() > (xray == 255).mean()


def test_any_size_is_resized_to_the_model_input(xray, tmp_path):
    big = np.kron(xray, np.ones((4, 3), dtype=np.uint8))  # 256 x 192, not square
    batch = load_for_model([write_png(tmp_path / "big.png", big)], 64)
    assert batch.shape == (1, 1, 64, 64) and batch.dtype == np.uint8
    assert np.corrcoef(batch[0, 0].ravel(), xray.ravel())[0, 1] > 0.95
    assert resize_square(xray, 64) is xray


def test_unreadable_files_give_one_line_errors(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(junk)
    bad_dicom = tmp_path / "bad.dcm"
    bad_dicom.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    with pytest.raises(ImageReadError) as err:
        read_image(bad_dicom)
    assert "\n" not in str(err.value)
    with pytest.raises(ImageReadError, match="no image file"):
        expand_image_paths([tmp_path / "missing.png"])


def test_folders_expand_to_their_images(xray, tmp_path):
    write_png(tmp_path / "b.png", xray)
    write_dicom(tmp_path / "a.dcm", to_12bit(xray))
    (tmp_path / "notes.txt").write_text("ignored")
    assert [p.name for p in expand_image_paths([tmp_path])] == ["a.dcm", "b.png"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageReadError, match="holds no image files"):
        expand_image_paths([empty])
