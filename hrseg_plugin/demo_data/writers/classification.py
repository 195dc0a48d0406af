"""Crops of the scenes' objects and stuff as an ImageNet-style classification
set (mmpretrain's ``CustomDataset`` / ``ImageNet`` folder layout)."""
import cv2
import numpy as np

from ..classes import BUILDING, ROAD, SKY, VEGETATION
from ..sample import encode_png, sample_name
from .base import Writer, register_writer

#: Side of every crop (px): square PNGs, the demo config's input size.
CROP_SIZE = 64
#: Instances (COCO categories of the painter) cropped around their visible
#: box: class folder -> COCO category name.
THING_CLASSES = {'car': 'car', 'person': 'person',
                 'traffic_sign': 'traffic sign'}
#: Stuff cropped as square patches of the label map: class folder ->
#: Cityscapes train id.
STUFF_CLASSES = {'building': BUILDING, 'road': ROAD, 'sky': SKY,
                 'vegetation': VEGETATION}
#: The class folders in sorted order: the label order of mmpretrain's
#: ``CustomDataset`` reading the folders (and of ``meta/*.txt``).
CLASSES = tuple(sorted({**THING_CLASSES, **STUFF_CLASSES}))
#: An instance is cropped when its visible box is at least this tall and
#: wide (px), holds at least this many of its pixels and is at least this
#: full of them (an object cut in pieces by a nearer one is left out).
MIN_THING_SIDE = 12
MIN_THING_AREA = 60
MIN_THING_FILL = 0.25
#: Context around an instance's visible box (fraction of its longer side).
THING_MARGIN = 0.15
#: Stuff patches: side as a fraction of the image height, the stride of the
#: window grid as a fraction of the side, the share of the class the patch
#: must hold, and how many patches per class and scene at most.
STUFF_SIDE = 0.25
STUFF_STRIDE = 0.5
STUFF_PURITY = 0.7
STUFF_PER_SCENE = 2


def square_box(cx, cy, side, h, w):
    """A square (x, y, side) centred on (cx, cy), moved inside the image
    (and shrunk to fit it)."""
    side = int(min(max(side, 1), h, w))
    x = int(round(cx - side / 2))
    y = int(round(cy - side / 2))
    return (min(max(x, 0), w - side), min(max(y, 0), h - side), side)


def resize_crop(image, box):
    """The square ``box`` of ``image`` at ``CROP_SIZE`` px (area averaging
    when shrinking, bilinear when enlarging)."""
    x, y, side = box
    crop = image[y:y + side, x:x + side]
    interp = cv2.INTER_AREA if side > CROP_SIZE else cv2.INTER_LINEAR
    return cv2.resize(crop, (CROP_SIZE, CROP_SIZE), interpolation=interp)


def thing_boxes(instance, categories):
    """(class folder, square box) of each instance large enough to crop, in
    instance order: its visible box with some context."""
    h, w = instance.shape
    folder = {v: k for k, v in THING_CLASSES.items()}
    boxes = []
    for inst, name in sorted(categories.items()):
        mask = (instance == inst).astype(np.uint8)
        area = cv2.countNonZero(mask)
        if area < MIN_THING_AREA:
            continue
        x, y, bw, bh = cv2.boundingRect(mask)
        if min(bw, bh) < MIN_THING_SIDE or area < MIN_THING_FILL * bw * bh:
            continue
        side = max(bw, bh) * (1 + 2 * THING_MARGIN)
        boxes.append((folder[name],
                      square_box(x + bw / 2, y + bh / 2, side, h, w)))
    return boxes


def stuff_boxes(label):
    """(class folder, square box) of the purest patches of each stuff class:
    on a grid of windows, the one with the largest share of the class
    (first in raster order on ties), then the next purest one that does
    not overlap those taken, while the share is at least
    ``STUFF_PURITY``."""
    h, w = label.shape
    side = max(8, int(round(h * STUFF_SIDE)))
    stride = max(1, int(round(side * STUFF_STRIDE)))
    ys = range(0, h - side + 1, stride)
    xs = range(0, w - side + 1, stride)
    boxes = []
    for name, train_id in sorted(STUFF_CLASSES.items()):
        # share of the class in every window, from an integral image
        integral = cv2.integral((label == train_id).astype(np.uint8))
        windows = []
        for y in ys:
            for x in xs:
                count = (integral[y + side, x + side] - integral[y, x + side]
                         - integral[y + side, x] + integral[y, x])
                windows.append((-count, y, x))
        windows.sort()
        taken = []
        for neg, y, x in windows:
            if -neg < STUFF_PURITY * side * side or \
                    len(taken) == STUFF_PER_SCENE:
                break
            if all(abs(y - ty) >= side or abs(x - tx) >= side
                   for ty, tx in taken):
                taken.append((y, x))
                boxes.append((name, (x, y, side)))
    return boxes


@register_writer
class ClassificationWriter(Writer):
    """Square crops of the scenes' things (person, car, traffic sign: each
    visible instance large enough) and stuff (building, road, sky,
    vegetation: the purest patches of the label map), ImageNet-style::

        OUT/classification/{train,val}/<class>/<stem>_<k>.png
        OUT/classification/meta/{train,val}.txt   <class>/<file> <label>
        OUT/classification/meta/classes.txt       one class per line

    readable by mmpretrain's ``CustomDataset`` (folder per class, labels in
    sorted folder order = :data:`CLASSES`) and its ``ImageNet`` dataset
    (``meta/*.txt``). Every crop is ``CROP_SIZE`` px square.
    """
    subdir = 'classification'

    def __init__(self, settings):
        super().__init__(settings)
        self.lists = {split: [] for split in ('train', 'val')}
        self.counts = {split: dict.fromkeys(CLASSES, 0)
                       for split in ('train', 'val')}

    @staticmethod
    def encode(sample):
        """[(class folder, crop PNG)] of the scene, things then stuff."""
        boxes = thing_boxes(sample.instance, sample.categories) + \
            stuff_boxes(sample.label)
        return [(name, encode_png(resize_crop(sample.image, box)))
                for name, box in boxes]

    def add(self, split, index, payload):
        _, stem = sample_name(split, index)
        for k, (name, png) in enumerate(payload):
            folder = self.root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            file_name = f'{stem}_{k:02d}.png'
            (folder / file_name).write_bytes(png)
            self.lists[split].append(
                f'{name}/{file_name} {CLASSES.index(name)}\n')
            self.counts[split][name] += 1

    def finish(self):
        meta = self.root / 'meta'
        meta.mkdir(parents=True, exist_ok=True)
        for split, lines in self.lists.items():
            (meta / f'{split}.txt').write_text(''.join(lines))
        (meta / 'classes.txt').write_text(''.join(c + '\n' for c in CLASSES))

    def readme(self):
        return f"""\
classification/  crops of the same scenes, ImageNet-style (mmpretrain
    CustomDataset / ImageNet): {{train,val}}/<class>/<stem>_<k>.png, all
    {CROP_SIZE}x{CROP_SIZE}; meta/{{train,val}}.txt list "<class>/<file> <label>",
    meta/classes.txt the classes in label order:
    {', '.join(CLASSES)}.
    Things: every person, car and traffic sign whose visible box is at least
    {MIN_THING_SIDE} px each way and {MIN_THING_FILL:.0%} covered by it, a square around it with
    {THING_MARGIN:.0%} context. Stuff:
    per scene up to {STUFF_PER_SCENE} non-overlapping square patches ({STUFF_SIDE:.0%} of the
    image height) of building, road, sky and vegetation that are at least
    {STUFF_PURITY:.0%} that class in the label map.
"""

    def statistics(self):
        return 'Classification crops (train / val): ' + ', '.join(
            f'{c} {self.counts["train"][c]} / {self.counts["val"][c]}'
            for c in CLASSES) + '.'

    def location(self):
        return f'classification set (mmpretrain CustomDataset): {self.root}'
