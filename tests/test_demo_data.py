"""tools/make_demo_data.py: deterministic synthetic street scenes, readable by
mmseg's CityscapesDataset and mmdet's CocoDataset, labels and instances that
agree, and clear errors for bad arguments."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / 'tools' / 'make_demo_data.py'
NUM_TRAIN, NUM_VAL = 4, 2
H, W = 256, 512
COCO_CLASSES = ('person', 'car', 'traffic sign')
# Cityscapes train ids
ROAD, SIDEWALK, BUILDING, POLE, TRAFFIC_SIGN, VEGETATION, SKY, PERSON, CAR = \
    0, 1, 2, 5, 7, 8, 10, 11, 13


def run_script(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


def generate(out, seed=0, *extra):
    res = run_script('--out', out, '--seed', seed, '--num-train', NUM_TRAIN,
                     '--num-val', NUM_VAL, *extra)
    assert res.returncode == 0, res.stderr
    return Path(out)


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob('*')) if p.is_file()}


def label_path(root, split, stem):
    city = stem.split('_')[0]
    return (root / 'cityscapes' / 'gtFine' / split / city /
            f'{stem}_gtFine_labelTrainIds.png')


def read_labels(root):
    paths = sorted((root / 'cityscapes' / 'gtFine').rglob('*.png'))
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in paths]


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return generate(tmp_path_factory.mktemp('demo') / 'demo')


@pytest.mark.slow
def test_layout(demo):
    """Cityscapes naming for images and labels, the same PNGs in coco/."""
    for split, coco_dir, n in (('train', 'train2017', NUM_TRAIN),
                               ('val', 'val2017', NUM_VAL)):
        imgs = sorted((demo / 'cityscapes' / 'leftImg8bit' / split).glob(
            '*/*_leftImg8bit.png'))
        assert len(imgs) == n
        for img in imgs:
            city, seq, frame = img.name[:-len('_leftImg8bit.png')].split('_')
            assert img.parent.name == city and len(seq) == len(frame) == 6
            stem = f'{city}_{seq}_{frame}'
            label = cv2.imread(str(label_path(demo, split, stem)),
                               cv2.IMREAD_UNCHANGED)
            assert label.dtype == np.uint8 and label.shape == (H, W)
            coco_img = demo / 'coco' / coco_dir / f'{stem}.png'
            assert coco_img.read_bytes() == img.read_bytes()
    assert (demo / 'README.txt').read_text().strip()


@pytest.mark.slow
def test_deterministic(demo, tmp_path):
    """Same seed: byte-identical output (whatever the number of workers);
    another seed: different images."""
    again = generate(tmp_path / 'again', 0, '--workers', 1)
    assert files(again) == files(demo)
    other = files(generate(tmp_path / 'other', 1))
    for name, data in files(demo).items():
        if name.startswith('cityscapes/leftImg8bit/'):
            assert other[name] != data, name


def test_images_do_not_depend_on_count(demo, tmp_path):
    small = run_script('--out', tmp_path / 'small', '--num-train', 1,
                       '--num-val', 1)
    assert small.returncode == 0, small.stderr
    for name, data in files(tmp_path / 'small' / 'cityscapes').items():
        assert (demo / 'cityscapes' / name).read_bytes() == data, name


def test_mmseg_cityscapes_dataset(demo):
    pytest.importorskip('mmseg')
    from mmengine.registry import DefaultScope
    from mmseg.datasets import CityscapesDataset
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = CityscapesDataset(
            data_root=str(demo / 'cityscapes'),
            data_prefix=dict(img_path='leftImg8bit/train',
                             seg_map_path='gtFine/train'),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations')])
        assert len(dataset) == NUM_TRAIN
        for i in range(len(dataset)):
            sample = dataset[i]
            assert sample['img'].shape == (H, W, 3)
            seg = sample['gt_seg_map']
            assert seg.shape == (H, W)
            assert set(np.unique(seg).tolist()) <= set(range(19)) | {255}


def test_label_content(demo):
    """The street classes are all there, and poles are thin."""
    labels = read_labels(demo)
    present = set().union(*(np.unique(lb).tolist() for lb in labels))
    for cls in (ROAD, SIDEWALK, BUILDING, SKY, VEGETATION, CAR, PERSON, POLE,
                TRAFFIC_SIGN):
        assert cls in present, cls
    runs = []
    for lb in labels:
        pole = np.pad(lb == POLE, ((0, 0), (1, 1))).astype(np.int8)
        d = np.diff(pole, axis=1)
        starts, ends = np.nonzero(d == 1), np.nonzero(d == -1)
        runs.extend(ends[1] - starts[1])  # row-major order pairs them up
    assert len(runs) > 100
    assert np.median(runs) <= 4
    # mostly sky at the top, mostly road at the bottom
    stack = np.stack(labels)
    assert np.mean(stack[:, :H // 10] == SKY) + \
        np.mean(stack[:, :H // 10] == BUILDING) > 0.5
    assert np.mean(stack[:, -H // 10:] == ROAD) > 0.4


def test_coco_annotations(demo):
    pytest.importorskip('pycocotools')
    from pycocotools.coco import COCO
    car_hits, categories = [], set()
    for split, coco_dir, n in (('train', 'train2017', NUM_TRAIN),
                               ('val', 'val2017', NUM_VAL)):
        ann_file = demo / 'coco' / 'annotations' / f'instances_{coco_dir}.json'
        assert json.loads(ann_file.read_text())['categories'] == [
            dict(id=1, name='person'), dict(id=2, name='car'),
            dict(id=3, name='traffic sign')]
        coco = COCO(str(ann_file))
        assert len(coco.getImgIds()) == n
        anns = coco.loadAnns(coco.getAnnIds())
        assert len({a['id'] for a in anns}) == len(anns)
        categories |= {a['category_id'] for a in anns}
        for a in anns:
            img = coco.imgs[a['image_id']]
            assert (img['height'], img['width']) == (H, W)
            assert (demo / 'coco' / coco_dir / img['file_name']).is_file()
            x, y, w, h = a['bbox']
            assert w > 0 and h > 0 and x >= 0 and y >= 0
            assert x + w <= W and y + h <= H
            assert a['iscrowd'] == 0 and a['area'] >= 16
            assert all(len(p) >= 6 and len(p) % 2 == 0
                       for p in a['segmentation'])
            mask = coco.annToMask(a)
            if a['area'] >= 100:  # polygons through pixel centres lose a rim
                assert 0.7 * a['area'] <= mask.sum() <= 1.1 * a['area']
            if a['category_id'] == 2:  # car polygons cover car pixels
                label = cv2.imread(
                    str(label_path(demo, split, img['file_name'][:-4])),
                    cv2.IMREAD_UNCHANGED)
                car_hits.append(np.mean(label[mask > 0] == CAR))
                if a['area'] >= 400:  # slivers of occluded cars are all rim
                    assert car_hits[-1] > 0.9
    assert categories == {1, 2, 3}
    assert car_hits and np.mean(car_hits) > 0.9


def test_mmdet_coco_dataset(demo):
    pytest.importorskip('mmdet')
    from mmdet.datasets import CocoDataset
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = CocoDataset(
            data_root=str(demo / 'coco'),
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            metainfo=dict(classes=COCO_CLASSES),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations', with_bbox=True,
                           with_mask=True)])
        assert len(dataset) == NUM_TRAIN
        car_fractions = []
        for i in range(len(dataset)):
            sample = dataset[i]
            assert sample['img'].shape == (H, W, 3)
            boxes = np.asarray(sample['gt_bboxes'].tensor)
            labels = sample['gt_bboxes_labels']
            masks = sample['gt_masks'].to_ndarray()
            assert len(boxes) == len(labels) == len(masks) > 0
            assert (boxes[:, :2] >= 0).all()
            assert (boxes[:, 2] <= W).all() and (boxes[:, 3] <= H).all()
            assert (boxes[:, 2:] > boxes[:, :2]).all()
            stem = Path(sample['img_path']).stem
            seg = cv2.imread(str(label_path(demo, 'train', stem)),
                             cv2.IMREAD_UNCHANGED)
            for label, mask in zip(labels, masks):
                if COCO_CLASSES[label] == 'car' and mask.sum() >= 400:
                    car_fractions.append(np.mean(seg[mask > 0] == CAR))
        assert car_fractions and min(car_fractions) > 0.9


@pytest.mark.slow
@pytest.mark.parametrize('args, messages', [
    (['--size', '32', '512'], ['too small', 'at least 64x64']),
    (['--num-train', '0'], ['--num-train must be >= 1']),
    (['--seed', '-1'], ['--seed must be >= 0']),
    (['--workers', '0'], ['--workers must be >= 1']),
    (['--num-val', 'ten'], ["invalid int value: 'ten'"]),
])
def test_bad_arguments(args, messages, tmp_path):
    res = run_script('--out', tmp_path / 'out', *args)
    assert res.returncode != 0
    for message in messages:
        assert message in res.stderr
    assert not (tmp_path / 'out').exists()


@pytest.mark.slow
def test_refuses_foreign_output(tmp_path):
    (tmp_path / 'out' / 'cityscapes').mkdir(parents=True)
    res = run_script('--out', tmp_path / 'out', '--num-train', 1,
                     '--num-val', 1)
    assert res.returncode != 0
    assert 'refusing to overwrite' in res.stderr
    not_a_dir = tmp_path / 'file'
    not_a_dir.write_text('x')
    res = run_script('--out', not_a_dir)
    assert res.returncode != 0 and 'not a directory' in res.stderr


def test_script_imports_no_openmmlab_models(tmp_path):
    """The generator is numpy and OpenCV only, and importing hrseg_plugin
    registers its modules lazily: the script imports no mmcv, mmseg or
    mmdet (seconds saved on every run; torch and mmengine come with
    hrseg_plugin's checkpoint allow-list)."""
    code = ('import runpy, sys; sys.argv = sys.argv[1:]; '
            "runpy.run_path(sys.argv[0], run_name='__main__'); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'mmcv', 'mmengine', 'mmseg', 'mmdet'}))")
    res = subprocess.run(
        [sys.executable, '-c', code, str(SCRIPT), '--out', str(tmp_path),
         '--num-train', '1', '--num-val', '1', '--size', '64', '64'],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-1] == "['mmengine', 'torch']"
