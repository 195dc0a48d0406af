"""tools/make_demo_data.py, issue 18: COCO person keypoints of the painted
pedestrians (mmpose's COCO layout, read by mmpose's CocoDataset and scored
by its CocoMetric) and the ImageNet-style classification crops (read by
mmpretrain's CustomDataset); both deterministic.

mmpretrain.datasets imports torchvision: in this process the conftest's
test-only stub stands in for it where the real one cannot be imported (no
torchvision function is called)."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / 'tools' / 'make_demo_data.py'
# enough scenes for a few labelled people in each split
NUM_TRAIN, NUM_VAL = 10, 4
H, W = 256, 512
PERSON = 11  # Cityscapes train id
KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
             'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
             'left_wrist', 'right_wrist', 'left_hip', 'right_hip',
             'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
CLASSES = ('building', 'car', 'person', 'road', 'sky', 'traffic_sign',
           'vegetation')


def generate(out, *extra):
    res = subprocess.run(
        [sys.executable, str(SCRIPT), '--out', str(out), '--num-train',
         str(NUM_TRAIN), '--num-val', str(NUM_VAL), *map(str, extra)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return Path(out), res.stdout


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob('*')) if p.is_file()}


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return generate(tmp_path_factory.mktemp('demo') / 'demo')


def keypoint_file(root, split):
    return root / 'coco' / 'annotations' / f'person_keypoints_{split}2017.json'


# --------------------------------------------------------------------------
# both sets: deterministic, and the older sets unchanged by them
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_deterministic(demo, tmp_path):
    """Same arguments: byte-identical keypoints and crops, whatever the
    number of workers; the summary reports both sets."""
    root, stdout = demo
    again, _ = generate(tmp_path / 'again', '--workers', 1)
    ours = {k: v for k, v in files(root).items()
            if k.startswith(('classification/', 'coco/annotations/person'))}
    assert len(ours) > 2 * len(CLASSES)
    assert ours == {k: v for k, v in files(again).items() if k in ours}
    assert 'COCO keypoints:' in stdout
    assert 'Classification crops (train / val):' in stdout
    readme = (root / 'README.txt').read_text()
    assert 'person_keypoints_{train,val}2017.json' in readme
    assert 'classification/' in readme


# --------------------------------------------------------------------------
# person keypoints
# --------------------------------------------------------------------------
@pytest.mark.parametrize('split', ['train', 'val'])
def test_keypoint_annotations(demo, split):
    """COCO's person-keypoint layout; one annotation per person of the
    instance file (same box, area, polygons); visibility 0 outside the
    image (x = y = 0), 2 on the person's own pixels; the person faces the
    camera (left joints on the image's right)."""
    root, _ = demo
    data = json.loads(keypoint_file(root, split).read_text())
    (category, ) = data['categories']
    assert category['id'] == 1 and category['name'] == 'person'
    assert tuple(category['keypoints']) == KEYPOINTS
    assert len(category['skeleton']) == 19
    instances = json.loads(
        (root / 'coco' / 'annotations' /
         f'instances_{split}2017.json').read_text())
    assert data['images'] == instances['images']
    people = [a for a in instances['annotations'] if a['category_id'] == 1]
    assert len(data['annotations']) == len(people) > 0
    images = {i['id']: i for i in data['images']}
    labelled = 0
    for ann, person in zip(data['annotations'], people):
        for key in ('image_id', 'bbox', 'area', 'segmentation', 'iscrowd'):
            assert ann[key] == person[key], key
        kpts = np.array(ann['keypoints'], float).reshape(17, 3)
        v = kpts[:, 2]
        assert set(v.tolist()) <= {0, 1, 2}
        assert ann['num_keypoints'] == np.count_nonzero(v)
        assert (kpts[v == 0, :2] == 0).all()
        inside = kpts[v > 0, :2]
        assert ((inside >= -0.5) & (inside < [W - 0.5, H - 0.5])).all()
        if ann['num_keypoints'] == 0:
            continue
        labelled += 1
        stem = images[ann['image_id']]['file_name'][:-4]
        label = cv2.imread(
            str(root / 'cityscapes' / 'gtFine' / split / stem.split('_')[0] /
                f'{stem}_gtFine_labelTrainIds.png'), cv2.IMREAD_UNCHANGED)
        for x, y, _ in kpts[v == 2]:
            xi, yi = int(round(x)), int(round(y))
            window = label[max(yi - 1, 0):yi + 2, max(xi - 1, 0):xi + 2]
            assert (window == PERSON).any(), (x, y)
        for left, right in (('left_shoulder', 'right_shoulder'),
                            ('left_hip', 'right_hip'),
                            ('left_eye', 'right_eye')):
            a, b = KEYPOINTS.index(left), KEYPOINTS.index(right)
            if v[a] and v[b]:
                assert kpts[a, 0] > kpts[b, 0]
        # head above shoulders above hips
        nose, shoulder, hip = (KEYPOINTS.index(k) for k in (
            'nose', 'left_shoulder', 'left_hip'))
        if v[nose] and v[shoulder] and v[hip]:
            assert kpts[nose, 1] < kpts[shoulder, 1] < kpts[hip, 1]
    assert labelled > 0


def test_mmpose_coco_dataset_reads_keypoints(demo):
    """mmpose's CocoDataset (top-down) with stock's training transforms
    gives one sample per labelled person (it leaves out those with
    num_keypoints 0, as for COCO), 17 keypoints with their visibility, and
    target heatmaps."""
    from mmengine.registry import DefaultScope
    from mmpose.datasets import CocoDataset
    root, _ = demo
    anns = [a for a in json.loads(
        keypoint_file(root, 'train').read_text())['annotations']
            if a['num_keypoints']]
    codec = dict(type='MSRAHeatmap', input_size=(96, 128),
                 heatmap_size=(24, 32), sigma=1.5)
    with DefaultScope.overwrite_default_scope('mmpose'):
        dataset = CocoDataset(
            data_root=str(root / 'coco'),
            data_mode='topdown',
            ann_file='annotations/person_keypoints_train2017.json',
            data_prefix=dict(img='train2017/'),
            pipeline=[
                dict(type='LoadImage'),
                dict(type='GetBBoxCenterScale'),
                dict(type='RandomFlip', direction='horizontal'),
                dict(type='TopdownAffine', input_size=codec['input_size']),
                dict(type='GenerateTarget', encoder=codec),
                dict(type='PackPoseInputs')
            ])
        assert dataset.metainfo['num_keypoints'] == 17
        assert len(dataset) == len(anns)
        for i, ann in enumerate(anns):
            info = dataset.get_data_info(i)
            assert info['id'] == ann['id']
            assert info['keypoints'].shape == (1, 17, 2)
            np.testing.assert_array_equal(
                info['keypoints_visible'][0],
                np.minimum(1, np.array(ann['keypoints'][2::3])))
            sample = dataset[i]
            assert tuple(sample['inputs'].shape) == (3, 128, 96)
            heatmaps = sample['data_samples'].gt_fields.heatmaps
            assert tuple(heatmaps.shape) == (17, 32, 24)


def test_mmpose_coco_metric_scores_the_ground_truth_1(demo):
    """mmpose's CocoMetric on the val keypoints, fed the ground truth of
    every labelled person (those mmpose's dataset yields) as predictions,
    gives AP 1: the file is a valid COCO keypoint set (ids, areas,
    num_keypoints) for evaluation."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.evaluation import CocoMetric
    root, _ = demo
    ann_file = keypoint_file(root, 'val')
    data = json.loads(ann_file.read_text())
    metric = CocoMetric(ann_file=str(ann_file))
    metric.dataset_meta = parse_pose_metainfo(
        dict(from_file='configs/_base_/datasets/coco.py'))
    samples = []
    for ann in data['annotations']:
        if not ann['num_keypoints']:
            continue
        kpts = np.array(ann['keypoints'], float).reshape(1, 17, 3)
        x, y, w, h = ann['bbox']
        samples.append(dict(
            id=ann['id'], img_id=ann['image_id'], category_id=1,
            pred_instances=dict(keypoints=kpts[..., :2],
                                keypoint_scores=np.ones((1, 17))),
            gt_instances=dict(bbox_scales=np.array([[w, h]], float))))
    metric.process([], samples)
    results = metric.compute_metrics(metric.results)
    assert results['AP'] == pytest.approx(1.0)


# --------------------------------------------------------------------------
# classification crops
# --------------------------------------------------------------------------
def test_classification_layout(demo):
    """One folder per class under train/ and val/, 64x64 PNGs, and the
    ImageNet-style lists meta/{train,val}.txt (label = sorted folder
    index) naming exactly those files."""
    root, _ = demo
    cls = root / 'classification'
    assert (cls / 'meta' / 'classes.txt').read_text().split('\n')[:-1] == \
        list(CLASSES)
    for split in ('train', 'val'):
        lines = (cls / 'meta' / f'{split}.txt').read_text().splitlines()
        listed = {}
        for line in lines:
            path, label = line.rsplit(' ', 1)
            listed[path] = int(label)
        on_disk = sorted(p.relative_to(cls / split).as_posix()
                         for p in (cls / split).glob('*/*.png'))
        assert sorted(listed) == on_disk
        for path, label in listed.items():
            assert CLASSES[label] == path.split('/')[0]
        assert {p.split('/')[0] for p in on_disk} == set(CLASSES)
    for path in list((cls / 'train').glob('*/*.png'))[:20]:
        img = cv2.imread(str(path))
        assert img.shape == (64, 64, 3) and img.std() > 1


def test_classification_crops_show_their_class(demo):
    """The stuff patches look like their class (mean colours): vegetation
    green, sky bright and blue, road grey."""
    root, _ = demo
    cls = root / 'classification' / 'train'

    def mean_bgr(name):
        return np.mean([cv2.imread(str(p)).reshape(-1, 3).mean(0)
                        for p in (cls / name).glob('*.png')], axis=0)

    b, g, r = mean_bgr('vegetation')
    assert g > r and g > b
    b, g, r = mean_bgr('sky')
    assert b > r and min(b, g, r) > 120
    b, g, r = mean_bgr('road')
    assert max(b, g, r) - min(b, g, r) < 25


def test_mmpretrain_custom_dataset_reads_crops(demo):
    """mmpretrain's CustomDataset reads the folders (labels in sorted
    folder order) and the lists alike, through a pipeline without
    torchvision."""
    from mmengine.registry import DefaultScope
    from mmpretrain.datasets import CustomDataset
    root, _ = demo
    cls = root / 'classification'
    listed = (cls / 'meta' / 'val.txt').read_text().splitlines()
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='RandomResizedCrop', scale=64,
                     crop_ratio_range=(0.5, 1.0)),
                dict(type='PackInputs')]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        by_folder = CustomDataset(data_root=str(cls), data_prefix='val',
                                  pipeline=pipeline)
        by_list = CustomDataset(data_root=str(cls), data_prefix='val',
                                ann_file='meta/val.txt',
                                metainfo=dict(classes=CLASSES),
                                pipeline=pipeline)
        assert by_folder.metainfo['classes'] == CLASSES
        assert len(by_folder) == len(by_list) == len(listed)
        folder_labels = sorted(
            (Path(by_folder.get_data_info(i)['img_path']).name,
             by_folder.get_data_info(i)['gt_label'])
            for i in range(len(by_folder)))
        list_labels = sorted(
            (Path(by_list.get_data_info(i)['img_path']).name,
             by_list.get_data_info(i)['gt_label'])
            for i in range(len(by_list)))
        assert folder_labels == list_labels
        sample = by_folder[0]
        assert tuple(sample['inputs'].shape) == (3, 64, 64)
        assert int(sample['data_samples'].gt_label) == \
            by_folder.get_data_info(0)['gt_label']
