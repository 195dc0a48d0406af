"""Generate a small synthetic street-scene dataset for the demo configs.

Procedurally painted streets seen from a car (``hrseg_plugin.demo_data``),
written in several layouts:

* ``OUT/cityscapes``: the Cityscapes folder layout and file naming, readable by
  mmseg's stock ``CityscapesDataset``::

      leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png
      gtFine/{train,val}/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png

* ``OUT/coco``: a COCO instance set (person, car, traffic sign) of the same
  images, readable by mmdet's ``CocoDataset``, and the 17 COCO keypoints of
  the people, readable by mmpose's ``CocoDataset``::

      train2017/*.png  val2017/*.png
      annotations/instances_train2017.json  annotations/instances_val2017.json
      annotations/person_keypoints_{train,val}2017.json

* ``OUT/classification``: 64x64 crops of the scenes' things and stuff, one
  folder per class, readable by mmpretrain's ``CustomDataset``::

      {train,val}/<class>/*.png  meta/{train,val}.txt  meta/classes.txt

Output is a pure function of the arguments: image ``i`` of a split is drawn
from its own random generator seeded with ``(seed, split, i)``, so it does not
depend on how many images are generated, and the same seed gives byte-identical
files.

Usage::

    python tools/make_demo_data.py [--out data/demo] [--seed 0]
        [--num-train 60] [--num-val 20] [--size 256 512]
"""
import argparse
import os
import sys
import time
from pathlib import Path

from tqdm import tqdm

from hrseg_plugin import demo_data


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate synthetic street scenes as a Cityscapes-layout '
        'segmentation set, a COCO instance and person-keypoint set and an '
        'ImageNet-style classification set of crops.')
    parser.add_argument('--out', default='data/demo',
                        help='output folder (default: data/demo)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed, >= 0 (default: 0)')
    parser.add_argument('--num-train', type=int, default=60,
                        help='number of training images (default: 60)')
    parser.add_argument('--num-val', type=int, default=20,
                        help='number of validation images (default: 20)')
    parser.add_argument('--size', type=int, nargs=2, default=(256, 512),
                        metavar=('H', 'W'),
                        help='image height and width (default: 256 512)')
    parser.add_argument('--workers', type=int,
                        default=min(os.cpu_count() or 1, 8),
                        help='worker processes (default: number of CPUs, at '
                        'most 8); the output does not depend on it')
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f'--seed must be >= 0, got {args.seed}')
    if args.num_train < 1:
        parser.error(f'--num-train must be >= 1, got {args.num_train}')
    if args.num_val < 1:
        parser.error(f'--num-val must be >= 1, got {args.num_val}')
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    h, w = args.size
    min_size, max_size = demo_data.MIN_SIZE, demo_data.MAX_SIZE
    if min(h, w) < min_size:
        parser.error(f'--size {h} {w} is too small: images must be at least '
                     f'{min_size}x{min_size}')
    if max(h, w) > max_size:
        parser.error(f'--size {h} {w} is too large: at most {max_size} px '
                     'per side')
    args.size = (h, w)
    return args


def main(argv=None):
    args = parse_args(argv)
    settings = demo_data.Settings(
        out=Path(args.out), seed=args.seed, num_train=args.num_train,
        num_val=args.num_val, size=args.size, workers=args.workers)
    start = time.perf_counter()
    try:
        writers = demo_data.generate(
            settings, progress=lambda scenes, total: tqdm(
                scenes, total=total, desc='demo scenes', unit='img'))
    except ValueError as err:
        sys.exit(f'make_demo_data.py: error: {err}')
    print(demo_data.summary(settings, writers, time.perf_counter() - start))


if __name__ == '__main__':
    main()
