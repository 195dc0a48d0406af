"""The real-dataset configs read their data sets in the layout the README's
"Datasets" section describes: each test writes a tiny folder in that layout
under the config's own relative ``data_root`` (in a temporary working
directory), builds the config's train and val datasets through the stock
registries and runs one sample through the config's train pipeline. A
missing root fails early with the path and the command that prepares it.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from hrseg_plugin import apis as ru

cv2 = pytest.importorskip('cv2')

REPO = Path(__file__).resolve().parents[1]


def write_img(path, h=64, w=128, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), img)


def write_label(path, n_classes, h=64, w=128, offset=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    label = np.zeros((h, w), np.uint8) + offset
    label[h // 4:3 * h // 4, w // 4:3 * w // 4] = offset + n_classes - 1
    assert cv2.imwrite(str(path), label)


# -- the real layouts (README "Datasets"), 2 train and 1 val image each -----
def make_cityscapes(root):
    """leftImg8bit/<split>/<city>/<name>_leftImg8bit.png and
    gtFine/<split>/<city>/<name>_gtFine_labelTrainIds.png (written by
    mmseg's cityscapes.py converter)."""
    n = {}
    for split, names in (('train', ['aachen_000000_000019',
                                    'aachen_000001_000019']),
                         ('val', ['frankfurt_000000_000294'])):
        for i, name in enumerate(names):
            city = name.split('_')[0]
            write_img(root / 'leftImg8bit' / split / city /
                      f'{name}_leftImg8bit.png', seed=i)
            write_label(root / 'gtFine' / split / city /
                        f'{name}_gtFine_labelTrainIds.png', 19)
        n[split] = len(names)
    return n


def make_ade20k(root):
    """images/{training,validation}/*.jpg, annotations/.../*.png (0 =
    other, reduced to 255)."""
    n = {}
    for split, sub, k in (('train', 'training', 2), ('val', 'validation',
                                                      1)):
        for i in range(k):
            name = f'ADE_{sub[:5]}_{i + 1:08d}'
            write_img(root / 'images' / sub / f'{name}.jpg', 64, 64, i)
            write_label(root / 'annotations' / sub / f'{name}.png', 150, 64,
                        64, offset=1)
        n[split] = k
    return n


def make_pascal_context(root):
    """JPEGImages/*.jpg, SegmentationClassContext/*.png (written by mmseg's
    pascal_context.py converter) and ImageSets/SegmentationContext/
    {train,val}.txt."""
    n = {}
    sets = root / 'ImageSets' / 'SegmentationContext'
    sets.mkdir(parents=True)
    for split, names in (('train', ['2008_000002', '2008_000003']),
                         ('val', ['2008_000008'])):
        for i, name in enumerate(names):
            write_img(root / 'JPEGImages' / f'{name}.jpg', 64, 96, i)
            write_label(root / 'SegmentationClassContext' / f'{name}.png',
                        59, 64, 96, offset=1)
        (sets / f'{split}.txt').write_text('\n'.join(names) + '\n')
        n[split] = len(names)
    return n


def make_coco(root):
    """train2017/*.jpg, val2017/*.jpg, annotations/instances_{train,val}
    2017.json."""
    n = {}
    for split, k in (('train2017', 2), ('val2017', 1)):
        images, anns = [], []
        for i in range(k):
            name = f'{i + 1:012d}.jpg'
            write_img(root / split / name, 96, 128, i)
            images.append(dict(id=i + 1, file_name=name, height=96,
                               width=128))
            anns.append(dict(id=i + 1, image_id=i + 1, category_id=1,
                             bbox=[20, 20, 60, 50], area=3000, iscrowd=0,
                             segmentation=[[20, 20, 80, 20, 80, 70, 20,
                                            70]]))
        (root / 'annotations').mkdir(parents=True, exist_ok=True)
        (root / 'annotations' / f'instances_{split}.json').write_text(
            json.dumps(dict(images=images, annotations=anns,
                            categories=[dict(id=1, name='person')])))
        n['train' if split == 'train2017' else 'val'] = k
    return n


CASES = {
    'configs/hrnet_w18_ocr.py': ('data/cityscapes', make_cityscapes,
                                 'CityscapesDataset', 'cityscapes.py'),
    'configs/hrnet_ocr.py': ('data/cityscapes', make_cityscapes,
                             'CityscapesDataset', 'cityscapes.py'),
    'configs/hrnet_w48_ocr_ade20k.py': (
        'data/ade/ADEChallengeData2016', make_ade20k, 'ADE20KDataset',
        'ADEChallengeData2016.zip'),
    'configs/hrnet_w48_ocr_pascal_context.py': (
        'data/VOCdevkit/VOC2010', make_pascal_context,
        'PascalContextDataset59', 'pascal_context.py'),
    'configs/faster_rcnn_hrnetv2p_w18.py': ('data/coco', make_coco,
                                            'CocoDataset',
                                            'annotations_trainval2017.zip'),
}


def build_dataset(cfg, dataset_cfg):
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == 'mmdet':
        import mmdet.datasets  # noqa: F401  (registers)
        from mmdet.registry import DATASETS
    else:
        import mmseg.datasets  # noqa: F401  (registers)
        from mmseg.registry import DATASETS
    return DATASETS.build(dataset_cfg)


@pytest.mark.parametrize('config', list(CASES))
def test_config_reads_real_layout(config, tmp_path, monkeypatch):
    root, make, dataset_type, _ = CASES[config]
    cfg = Config.fromfile(REPO / config)
    ds_cfg = cfg.train_dataloader.dataset
    assert ds_cfg.type == dataset_type
    assert ds_cfg.data_root.rstrip('/') == root
    assert cfg.val_dataloader.dataset.data_root.rstrip('/') == root

    monkeypatch.chdir(tmp_path)
    counts = make(tmp_path / root)
    ru.check_data_folders(cfg, ('train_dataloader', 'val_dataloader',
                                'test_dataloader'))

    train = build_dataset(cfg, ds_cfg)
    val = build_dataset(cfg, cfg.val_dataloader.dataset)
    assert len(train) == counts['train']
    assert len(val) == counts['val']
    info = train.get_data_info(0)
    assert os.path.isfile(info['img_path'])
    if cfg.default_scope == 'mmseg':
        assert os.path.isfile(info['seg_map_path'])
        meta_classes = train.metainfo['classes']
        assert len(meta_classes) == cfg.model.decode_head[-1].num_classes
    # one sample through the config's train pipeline
    sample = train[0]
    assert sample['inputs'].ndim == 3 and sample['inputs'].shape[0] == 3
    if cfg.default_scope == 'mmseg':
        seg = sample['data_samples'].gt_sem_seg.data
        assert seg.shape[-2:] == sample['inputs'].shape[-2:]
    else:
        assert len(sample['data_samples'].gt_instances) == 1


@pytest.mark.parametrize('config', list(CASES))
def test_missing_root_names_path_and_command(config, tmp_path,
                                             monkeypatch):
    root, _, dataset_type, command = CASES[config]
    cfg = Config.fromfile(REPO / config)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ru.ToolError) as info:
        ru.check_data_folders(cfg, ('train_dataloader', ))
    msg = str(info.value)
    assert root in msg and dataset_type in msg and command in msg, msg


def test_missing_prefix_folder_is_named(tmp_path, monkeypatch):
    """The root exists but a split does not (e.g. the converter was not
    run): the missing folder is named."""
    cfg = Config.fromfile(REPO / 'configs/hrnet_w18_ocr.py')
    monkeypatch.chdir(tmp_path)
    make_cityscapes(tmp_path / 'data/cityscapes')
    import shutil
    shutil.rmtree(tmp_path / 'data/cityscapes/gtFine/val')
    ru.check_data_folders(cfg, ('train_dataloader', ))
    with pytest.raises(ru.ToolError, match='gtFine/val'):
        ru.check_data_folders(cfg, ('val_dataloader', ))
    # train.py: only a warning for the validation folder
    ru.check_train_data_folders(cfg)
    shutil.rmtree(tmp_path / 'data/cityscapes/leftImg8bit/train')
    with pytest.raises(ru.ToolError, match='leftImg8bit/train'):
        ru.check_train_data_folders(cfg)


@pytest.mark.slow
def test_train_tool_reports_missing_dataset(tmp_path):
    """tools/train.py stops before building the runner, with one line."""
    env = dict(os.environ)
    env.pop('LOCAL_RANK', None)
    proc = subprocess.run([
        sys.executable,
        str(REPO / 'tools' / 'train.py'),
        str(REPO / 'configs' / 'hrnet_w48_ocr_ade20k.py'), '--work-dir',
        str(tmp_path / 'work')
    ],
                          cwd=tmp_path,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith('train.py: error: train_dataloader: data '
                                'root data/ade/ADEChallengeData2016'), lines
    assert 'ADEChallengeData2016.zip' in lines[-1]
    assert 'Traceback' not in proc.stderr
