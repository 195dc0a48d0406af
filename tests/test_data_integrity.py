"""Image and label files that stock mmcv / mmseg read without a word but
wrongly: a truncated JPEG (OpenCV fills the missing rows with grey) and a
label map of another size than its image (every crop misaligned)."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from hrseg_plugin.datasets import LoadImageFromFile, LoadSegAnnotations
from hrseg_plugin.datasets import image_integrity
from hrseg_plugin.datasets.transforms import skipped_images


def write_jpeg(path, h=48, w=64, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    ok, data = cv2.imencode('.jpg', img)
    assert ok
    Path(path).write_bytes(data.tobytes())
    return str(path)


def truncate(path, keep=0.6):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:int(len(data) * keep)])


def test_stock_opencv_decodes_a_truncated_jpeg_silently(tmp_path):
    """The failure this guards against: no error, grey rows."""
    path = write_jpeg(tmp_path / 'a.jpg')
    truncate(path)
    img = cv2.imread(path)
    assert img is not None and img.shape == (48, 64, 3)


def test_truncated_jpeg_is_named_or_skipped(tmp_path):
    path = write_jpeg(tmp_path / 'street.jpg')
    load = LoadImageFromFile()
    assert load(dict(img_path=path))['img'].shape == (48, 64, 3)
    truncate(path)
    with pytest.raises(ValueError, match=r'cannot read image .*street\.jpg: '
                       r'truncated JPEG \(image file is truncated'):
        load(dict(img_path=path))
    skip = LoadImageFromFile(skip_unreadable=True)
    before = skipped_images()
    assert skip(dict(img_path=path)) is None
    assert skipped_images() == before + 1


def test_truncated_jpeg_under_another_extension(tmp_path):
    """The check reads the file's bytes, not its name."""
    path = write_jpeg(tmp_path / 'frame_leftImg8bit.png')
    truncate(path, keep=0.5)
    with pytest.raises(ValueError, match='truncated JPEG'):
        LoadImageFromFile()(dict(img_path=path))


def test_complete_jpeg_costs_one_small_read(tmp_path, monkeypatch):
    """A complete JPEG (its end marker among the last bytes) is never
    decoded a second time."""
    path = write_jpeg(tmp_path / 'a.jpg')
    calls = []
    monkeypatch.setattr(image_integrity, '_strict_decode',
                        lambda data: calls.append(len(data)))
    assert image_integrity.file_truncation(path) is None
    assert LoadImageFromFile()(dict(img_path=path)) is not None
    assert calls == []


def test_jpeg_with_appended_data_is_accepted(tmp_path):
    """Data after the end marker (some cameras append metadata) is not
    truncation: the strict decode tells them apart."""
    path = write_jpeg(tmp_path / 'a.jpg')
    Path(path).write_bytes(Path(path).read_bytes() + b'\0' * 500 + b'meta')
    assert image_integrity.file_truncation(path) is None
    assert LoadImageFromFile()(dict(img_path=path))['img'].shape == (48, 64,
                                                                      3)


def test_in_memory_bytes_check(tmp_path):
    path = write_jpeg(tmp_path / 'a.jpg')
    data = Path(path).read_bytes()
    assert image_integrity.jpeg_truncation(data) is None
    assert 'truncated JPEG' in image_integrity.jpeg_truncation(data[:-300])
    assert image_integrity.jpeg_truncation(b'\x89PNG not a jpeg') is None


def write_pair(tmp_path, img_hw, label_hw):
    img = write_jpeg(tmp_path / 'img.jpg', *img_hw)
    label = str(tmp_path / 'label.png')
    cv2.imwrite(label, np.zeros(label_hw, np.uint8))
    return img, label


def test_label_of_another_size_is_named(tmp_path):
    img, label = write_pair(tmp_path, (48, 64), (24, 32))
    results = LoadImageFromFile()(dict(img_path=img))
    results.update(seg_map_path=label, seg_fields=[], reduce_zero_label=False)
    with pytest.raises(ValueError, match=r'label file .*label\.png is 24x32 '
                       r'\(HxW\) but its image .*img\.jpg is 48x64'):
        LoadSegAnnotations(num_classes=19)(results)


def test_label_of_the_same_size_after_resize_passes(tmp_path):
    """The test pipelines resize the image before loading the label: the
    label is compared with the image as read (``ori_shape``)."""
    from mmcv.transforms import Resize
    img, label = write_pair(tmp_path, (48, 64), (48, 64))
    results = LoadImageFromFile()(dict(img_path=img))
    results = Resize(scale=(32, 24), keep_ratio=True)(results)
    results.update(seg_map_path=label, seg_fields=[], reduce_zero_label=False)
    out = LoadSegAnnotations(num_classes=19)(results)
    assert out['gt_seg_map'].shape == (48, 64)
