"""The scenes as a COCO instance detection / segmentation set."""
import json

import cv2
import numpy as np

from ..classes import COCO_CLASSES
from ..sample import sample_name
from .base import Writer, register_writer

COCO_SPLIT_DIRS = {'train': 'train2017', 'val': 'val2017'}
MIN_INSTANCE_AREA = 16


def instance_annotations(instance, categories):
    """COCO annotations (without id and image_id) of the visible part of
    each instance: polygons of its outer contours, bbox and pixel area."""
    anns = []
    for inst, name in categories.items():
        mask = (instance == inst).astype(np.uint8)
        area = int(cv2.countNonZero(mask))
        if area < MIN_INSTANCE_AREA:
            continue
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        polys = [c.reshape(-1).astype(float).tolist() for c in contours
                 if len(c) >= 3]
        if not polys:
            continue
        x, y, w, h = cv2.boundingRect(mask)
        anns.append(dict(category_id=COCO_CLASSES.index(name) + 1,
                         segmentation=polys, area=area,
                         bbox=[x, y, w, h], iscrowd=0))
    return anns


@register_writer
class CocoInstancesWriter(Writer):
    """The same images with person, car and traffic sign instances, readable
    by mmdet's ``CocoDataset``::

        OUT/coco/train2017/<stem>.png  OUT/coco/val2017/<stem>.png
        OUT/coco/annotations/instances_{train,val}2017.json

    One annotation per visible instance: polygons of its outer contours, box
    and pixel area of what is left of it after occlusion.
    """
    subdir = 'coco'

    def __init__(self, settings):
        super().__init__(settings)
        categories = [
            dict(id=i + 1, name=n) for i, n in enumerate(COCO_CLASSES)
        ]
        self.sets = {split: dict(images=[], annotations=[],
                                 categories=categories)
                     for split in ('train', 'val')}
        self.instance_counts = {c: 0 for c in COCO_CLASSES}

    @staticmethod
    def encode(sample):
        """(image PNG, COCO annotations without ids)."""
        return sample.image_png, instance_annotations(sample.instance,
                                                      sample.categories)

    def add(self, split, index, payload):
        image_png, anns = payload
        _, stem = sample_name(split, index)
        img_dir = self.root / COCO_SPLIT_DIRS[split]
        img_dir.mkdir(parents=True, exist_ok=True)
        (img_dir / f'{stem}.png').write_bytes(image_png)
        entry = self.sets[split]
        image_id = len(entry['images']) + 1
        h, w = self.settings.size
        entry['images'].append(
            dict(id=image_id, file_name=f'{stem}.png', height=h, width=w))
        for ann in anns:
            ann_id = len(entry['annotations']) + 1
            entry['annotations'].append(
                dict(id=ann_id, image_id=image_id, **ann))
            self.instance_counts[COCO_CLASSES[ann['category_id'] - 1]] += 1

    def finish(self):
        ann_dir = self.root / 'annotations'
        ann_dir.mkdir(parents=True, exist_ok=True)
        for split, entry in self.sets.items():
            entry = dict(info=dict(description='hrseg_plugin synthetic demo '
                                   f'scenes ({split}), seed '
                                   f'{self.settings.seed}'),
                         **entry)
            (ann_dir / f'instances_{COCO_SPLIT_DIRS[split]}.json').write_text(
                json.dumps(entry, separators=(',', ':')))

    def readme(self):
        return f"""\
coco/  instance detection / segmentation of the same scenes (mmdet CocoDataset)
    train2017/*.png, val2017/*.png   the same images as leftImg8bit
    annotations/instances_train2017.json, instances_val2017.json
    categories: 1 person, 2 car, 3 traffic sign; one annotation per visible
    instance (area >= {MIN_INSTANCE_AREA} px), polygons from the visible mask.

The label map, the instance polygons and the image come from the same
painter, so they agree pixel for pixel (up to polygon rasterisation).
"""

    def statistics(self):
        return 'COCO instances: ' + ', '.join(
            f'{n} {c}' for n, c in self.instance_counts.items()) + '.'

    def location(self):
        return f'instance set (mmdet CocoDataset): {self.root}'
