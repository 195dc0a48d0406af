"""One rendered scene as the writers receive it, and its name."""
import dataclasses
import functools
from dataclasses import dataclass

import cv2
import numpy as np

CITIES = {'train': ('demoville', 'testburg'), 'val': ('valcity', )}
FRAME_ID = 19  # Cityscapes annotates the 20th frame of each snippet
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]


def encode_png(array):
    """PNG bytes of an image or label array (fast compression).

    Args:
        array (np.ndarray): (H, W) or (H, W, 3) uint8 array (BGR).

    Returns:
        bytes: the encoded file.
    """
    ok, buf = cv2.imencode('.png', array, PNG_PARAMS)
    if not ok:
        raise RuntimeError('PNG encoding failed')
    return buf.tobytes()


def sample_name(split, index):
    """(city, file stem) of image ``index`` of a split, Cityscapes style.

    Every writer names the scene's files after the stem, so the same scene
    has the same name in every format.

    Args:
        split (str): 'train' or 'val'.
        index (int): the scene's index in its split.

    Returns:
        tuple[str, str]: e.g. ('demoville', 'demoville_000000_000019').
    """
    cities = CITIES[split]
    city = cities[index % len(cities)]
    return city, f'{city}_{index // len(cities):06d}_{FRAME_ID:06d}'


@dataclass
class Sample:
    """One rendered scene, as the writers' ``encode`` receive it.

    Attributes:
        split (str): 'train' or 'val'.
        index (int): the scene's index in its split.
        image (np.ndarray): (H, W, 3) uint8 BGR image.
        label (np.ndarray): (H, W) uint8 Cityscapes train ids, 255 = ignore.
        instance (np.ndarray): (H, W) int32 instance ids, 0 = none.
        categories (dict): instance id -> COCO class name.
        keypoints (dict): person instance id -> (17, 2) float COCO keypoints
            (pixel coordinates of the painted joints, visible or not).
    """
    split: str
    index: int
    image: np.ndarray
    label: np.ndarray
    instance: np.ndarray
    categories: dict
    keypoints: dict = dataclasses.field(default_factory=dict)

    @functools.cached_property
    def image_png(self):
        """The image as PNG bytes, encoded once for all writers."""
        return encode_png(self.image)
