"""The images ``tools/infer.py`` reads: folders expanded, files checked
before the model is loaded, read as mmcv's ``LoadImageFromFile`` does (and a
truncated JPEG refused)."""
import os
import os.path as osp
from typing import List, Sequence

from .cli import ToolError

#: File extensions (lower case) taken from a folder given to ``infer.py``.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def collect_images(inputs: Sequence[str]) -> List[str]:
    """Expand the ``IMAGE`` arguments: a folder gives the files in it (not
    recursive) whose extension is in :data:`IMAGE_EXTENSIONS`, sorted; any
    other argument is kept as it is (a missing or unreadable file fails
    later, in :func:`read_image`)."""
    images = []
    for item in inputs:
        if osp.isdir(item):
            found = sorted(
                osp.join(item, name) for name in os.listdir(item)
                if name.lower().endswith(IMAGE_EXTENSIONS)
                and osp.isfile(osp.join(item, name)))
            if not found:
                raise ToolError(
                    f'no images ({", ".join(IMAGE_EXTENSIONS)}) in folder '
                    f'{item}')
            images.extend(found)
        else:
            images.append(item)
    return images


def check_image(path: str) -> None:
    """Cheap check that ``path`` is a file OpenCV has a decoder for and not
    a truncated JPEG (only the file's signature and last bytes are read;
    :func:`hrseg_plugin.datasets.image_integrity.file_truncation`).

    Raises:
        ToolError: naming the file, when it is missing, not an image or
            truncated.
    """
    if not osp.isfile(path):
        raise ToolError(f'cannot read image {path}: no such file')
    import cv2
    if not cv2.haveImageReader(path):
        raise ToolError(
            f'cannot read image {path}: not an image format OpenCV can read')
    from hrseg_plugin.datasets.image_integrity import file_truncation
    truncated = file_truncation(path)
    if truncated:
        raise ToolError(
            f'cannot read image {path}: {truncated}; replace the file (or '
            'skip such images with --skip-bad)')


def read_image(path: str):
    """Read an image as a BGR ``uint8`` array, as mmcv's
    ``LoadImageFromFile`` does, refusing a truncated JPEG (which OpenCV
    would decode with grey rows in place of the missing part:
    :mod:`hrseg_plugin.datasets.image_integrity`).

    Raises:
        ToolError: naming the file, when it is missing, truncated or cannot
            be decoded.
    """
    check_image(path)
    import mmcv
    try:
        img = mmcv.imread(path)
    except Exception as exc:  # decoder errors vary with the backend
        raise ToolError(f'cannot read image {path}: {exc}') from exc
    if img is None or img.size == 0:
        raise ToolError(
            f'cannot read image {path}: not a valid image file')
    return img
