"""Writers of the demo scenes, one per output format. Importing a writer's
module registers it (:func:`register_writer`); the order of these imports is
the order of the README sections and of the summary."""
from .base import WRITERS, Writer, register_writer
from .cityscapes import CityscapesWriter
from .coco import CocoInstancesWriter
from .coco_keypoints import CocoKeypointsWriter
from .classification import ClassificationWriter

__all__ = [
    'WRITERS', 'Writer', 'register_writer', 'CityscapesWriter',
    'CocoInstancesWriter', 'CocoKeypointsWriter', 'ClassificationWriter'
]
