"""The scenes' pedestrians as COCO person keypoints (mmpose's COCO layout)."""
import json

import numpy as np

from ..sample import sample_name
from ..things import COCO_KEYPOINTS
from .base import Writer, register_writer
from .coco import COCO_SPLIT_DIRS, instance_annotations

#: COCO's person skeleton (1-based keypoint indices), as in
#: person_keypoints_*.json.
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12],
                 [7, 13], [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3],
                 [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]
#: People whose visible box is lower than this (px) get no keypoints
#: (``num_keypoints`` 0), as COCO leaves its smallest people unlabelled:
#: their joints are a few pixels apart.
MIN_KEYPOINT_BOX_HEIGHT = 24


def keypoint_visibility(instance, inst, x, y):
    """COCO's visibility flag of a joint at pixel (x, y) of person ``inst``:
    0 outside the image (not labelled), 2 when the person's own paint is at
    the joint (within one pixel), else 1 (labelled, occluded: something
    nearer, or the recording car's bonnet, covers it)."""
    h, w = instance.shape
    xi, yi = int(round(x)), int(round(y))
    if not (0 <= xi < w and 0 <= yi < h):
        return 0
    window = instance[max(yi - 1, 0):yi + 2, max(xi - 1, 0):xi + 2]
    return 2 if (window == inst).any() else 1


def keypoint_annotations(instance, categories, keypoints):
    """COCO person-keypoint annotations (without id and image_id) of the
    people of a scene: the instance annotation of each visible person
    (polygons, box, area: :func:`.coco.instance_annotations`) with
    ``keypoints`` (17 x (x, y, v), unlabelled joints 0, 0, 0) and
    ``num_keypoints`` (the labelled ones)."""
    anns = []
    for inst, joints in sorted(keypoints.items()):
        found = instance_annotations(instance, {inst: categories[inst]})
        if not found:
            continue
        ann = found[0]
        flat = [0] * (3 * len(COCO_KEYPOINTS))
        if ann['bbox'][3] >= MIN_KEYPOINT_BOX_HEIGHT:
            for k, (x, y) in enumerate(joints):
                v = keypoint_visibility(instance, inst, x, y)
                if v:
                    flat[3 * k:3 * k + 3] = [round(float(x), 2),
                                             round(float(y), 2), v]
        ann.update(keypoints=flat, num_keypoints=int(np.count_nonzero(
            flat[2::3])))
        anns.append(ann)
    return anns


@register_writer
class CocoKeypointsWriter(Writer):
    """The pedestrians of the scenes with the 17 COCO keypoints, readable by
    mmpose's ``CocoDataset`` (top-down) and evaluated by its ``CocoMetric``
    (keypoint AP)::

        OUT/coco/train2017/<stem>.png  OUT/coco/val2017/<stem>.png
        OUT/coco/annotations/person_keypoints_{train,val}2017.json

    The images are those of :class:`.coco.CocoInstancesWriter` (same
    folder); every visible person of the instance annotations is one
    annotation here (same polygons, box and area) with keypoints where the
    painter put the joints (:func:`~..things.draw_person`).
    """
    subdir = 'coco'

    def __init__(self, settings):
        super().__init__(settings)
        category = dict(id=1, name='person', supercategory='person',
                        keypoints=list(COCO_KEYPOINTS),
                        skeleton=COCO_SKELETON)
        self.sets = {split: dict(images=[], annotations=[],
                                 categories=[category])
                     for split in ('train', 'val')}
        self.visibility_counts = [0, 0, 0]  # joints with v = 0, 1, 2
        self.people = 0
        self.labelled_people = 0

    @staticmethod
    def encode(sample):
        """COCO keypoint annotations without ids."""
        return keypoint_annotations(sample.instance, sample.categories,
                                    sample.keypoints)

    def add(self, split, index, payload):
        _, stem = sample_name(split, index)
        entry = self.sets[split]
        image_id = len(entry['images']) + 1
        h, w = self.settings.size
        entry['images'].append(
            dict(id=image_id, file_name=f'{stem}.png', height=h, width=w))
        for ann in payload:
            entry['annotations'].append(
                dict(id=len(entry['annotations']) + 1, image_id=image_id,
                     **ann))
            self.people += 1
            self.labelled_people += ann['num_keypoints'] > 0
            if ann['num_keypoints']:
                for v in ann['keypoints'][2::3]:
                    self.visibility_counts[v] += 1

    def finish(self):
        ann_dir = self.root / 'annotations'
        ann_dir.mkdir(parents=True, exist_ok=True)
        for split, entry in self.sets.items():
            entry = dict(info=dict(description='hrseg_plugin synthetic demo '
                                   f'scenes ({split}) person keypoints, '
                                   f'seed {self.settings.seed}'),
                         **entry)
            name = f'person_keypoints_{COCO_SPLIT_DIRS[split]}.json'
            (ann_dir / name).write_text(json.dumps(entry,
                                                   separators=(',', ':')))

    def readme(self):
        return f"""\
coco/annotations/person_keypoints_{{train,val}}2017.json
    person keypoints of the same scenes (mmpose CocoDataset, top-down; keypoint
    AP with mmpose CocoMetric), on the images of coco/{{train,val}}2017: the
    17 COCO keypoints (nose, eyes, ears, shoulders, elbows, wrists, hips,
    knees, ankles) and COCO's skeleton, one annotation per visible person
    (the box, area and polygons of instances_*.json). The joints are where
    the painter drew the body (pedestrians face the camera: their left is
    the image's right); visibility as in COCO: 2 visible, 1 inside the
    image but covered by something nearer, 0 outside the image (x = y = 0).
    People under {MIN_KEYPOINT_BOX_HEIGHT} px tall have no keypoints (num_keypoints 0), as
    COCO's smallest people.
"""

    def statistics(self):
        v0, v1, v2 = self.visibility_counts
        return (f'COCO keypoints: {self.labelled_people} of {self.people} '
                f'people labelled; joints {v2} visible, {v1} occluded, {v0} '
                'outside the image.')

    def location(self):
        return ('person keypoints (mmpose CocoDataset): '
                f'{self.root}/annotations/person_keypoints_*.json')
