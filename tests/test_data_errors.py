"""Bad data is named, never silently used: unreadable or truncated images
and label files, labels out of range (also in the real Cityscapes, ADE20K
and Pascal Context configs), corrupt images skipped only when asked, and
their total counted over data-loader workers (issue 7)."""
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import hrseg_plugin  # noqa: F401  (registers)
from hrseg_plugin.datasets import (CheckSegLabels, LoadImageFromFile, LoadSegAnnotations)
from hrseg_plugin.datasets.transforms import skipped_images

from helpers import truncate, write_png

REPO = Path(__file__).resolve().parents[1]


def test_unreadable_image_is_named_or_skipped(tmp_path, caplog):
    img = write_png(tmp_path / 'a.png', np.full((40, 50, 3), 7, np.uint8))
    load = LoadImageFromFile()
    assert load(dict(img_path=img))['img'].shape == (40, 50, 3)
    truncate(img)
    with pytest.raises(ValueError, match=r'cannot read image .*a\.png: '):
        load(dict(img_path=img))
    with pytest.raises(ValueError, match=r'cannot read image .*b\.png: '
                       r'no such file'):
        load(dict(img_path=str(tmp_path / 'b.png')))
    skip = LoadImageFromFile(skip_unreadable=True)
    before = skipped_images()
    assert skip(dict(img_path=img)) is None
    assert skipped_images() == before + 1


@pytest.mark.parametrize('loader', ['transform', 'loader'])
def test_labels_out_of_range_are_named(tmp_path, loader):
    seg = np.zeros((30, 40), np.uint8)
    seg[3, 4] = 255  # the ignore index is allowed
    seg[5:7, 5:7] = 18
    ok = write_png(tmp_path / 'ok.png', seg)
    seg[10, 10] = 19
    seg[11, 11] = 40
    bad = write_png(tmp_path / 'bad.png', seg)
    if loader == 'transform':
        from mmseg.datasets.transforms import LoadAnnotations

        def run(path):
            r = LoadAnnotations()(dict(seg_map_path=path, seg_fields=[],
                                       reduce_zero_label=False))
            return CheckSegLabels(num_classes=19)(r)
    else:
        def run(path):
            return LoadSegAnnotations(num_classes=19)(
                dict(seg_map_path=path, seg_fields=[],
                     reduce_zero_label=False))
    assert run(ok)['gt_seg_map'].max() == 255
    with pytest.raises(ValueError) as err:
        run(bad)
    msg = str(err.value)
    assert 'bad.png' in msg and 'values 19, 40 outside [0, 19)' in msg, msg
    assert 'ignore index 255' in msg


def test_label_loader_passes_images_without_labels(tmp_path):
    """mmseg's inference_model drops LoadAnnotations from the test pipeline
    by its stock type name only: ours must let a label-less sample through
    (no seg_map_path key), and still name a sample whose label is None."""
    results = LoadSegAnnotations(num_classes=19)(
        dict(img_path='x.png', seg_fields=[], reduce_zero_label=False))
    assert 'gt_seg_map' not in results
    with pytest.raises(ValueError, match='cannot read label file None'):
        LoadSegAnnotations(num_classes=19)(
            dict(seg_map_path=None, seg_fields=[], reduce_zero_label=False))


def test_truncated_label_file_is_named(tmp_path):
    path = write_png(tmp_path / 'lab.png', np.zeros((30, 40), np.uint8))
    truncate(path)
    with pytest.raises(ValueError, match=r'cannot read label file .*lab\.png'):
        LoadSegAnnotations(num_classes=19)(
            dict(seg_map_path=path, seg_fields=[], reduce_zero_label=False))


def demo_dataset(demo_data, tmp_path, **load_kwargs):
    """The demo config's train set on a private copy of the demo data."""
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    root = tmp_path / 'cityscapes'
    shutil.copytree(demo_data / 'cityscapes', root)
    cfg = Config.fromfile(str(REPO / 'configs/demo/hrnet_ocr.py'))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = str(root)
    ds_cfg.pipeline[0].update(load_kwargs)
    return DATASETS.build(ds_cfg)


@pytest.mark.slow
def test_demo_pipeline_names_the_corrupt_file(demo_data, tmp_path):
    ds = demo_dataset(demo_data, tmp_path)
    assert ds[0]['inputs'].shape[0] == 3  # the clean data loads
    img = ds.get_data_info(1)['img_path']
    truncate(img)
    with pytest.raises(ValueError, match=f'cannot read image {img}'):
        ds[1]
    seg_path = ds.get_data_info(2)['seg_map_path']
    seg = cv2.imread(seg_path, cv2.IMREAD_UNCHANGED)
    seg[0, 0] = 33
    write_png(seg_path, seg)
    with pytest.raises(ValueError, match=f'label file {seg_path} has values '
                       r'33 outside \[0, 19\)'):
        ds[2]


def test_demo_pipeline_skips_corrupt_images_when_asked(demo_data, tmp_path):
    ds = demo_dataset(demo_data, tmp_path, skip_unreadable=True)
    bad = ds.get_data_info(1)['img_path']
    truncate(bad)
    before = skipped_images()
    # mmengine draws the replacement with np.random: seeded, so that it is
    # not the bad image again whatever earlier tests left in the RNG
    np.random.seed(0)
    sample = ds[1]  # another image is drawn in its place
    assert sample['data_samples'].img_path != bad
    assert skipped_images() == before + 1


def test_skipped_images_total_over_dataloader_workers(demo_data, tmp_path,
                                                      monkeypatch):
    """The skips happen in the data-loader workers; the main process (and
    SkippedImagesHook) still sees their total."""
    from mmengine.dataset import pseudo_collate

    from hrseg_plugin.engine import SkippedImagesHook
    ds = demo_dataset(demo_data, tmp_path, skip_unreadable=True)
    truncate(ds.get_data_info(1)['img_path'])
    before = skipped_images()
    loader = torch.utils.data.DataLoader(
        ds, batch_size=2, num_workers=2, collate_fn=pseudo_collate,
        multiprocessing_context='fork')
    assert sum(len(b['inputs']) for b in loader) == len(ds)
    skipped = skipped_images() - before
    assert skipped >= 1  # once per draw of the bad index, all workers
    logged = []
    monkeypatch.setattr('hrseg_plugin.engine.skipped_images.print_log',
                        lambda msg, **kw: logged.append(msg))
    SkippedImagesHook().after_train(None)
    assert logged and f'{skipped_images()} unreadable image(s) skipped in ' \
        'total' in logged[0]


@pytest.mark.parametrize('config', ['hrnet_w18_ocr.py', 'bisenet_r18.py'])
def test_cityscapes_configs_use_the_checked_loaders(demo_data, tmp_path,
                                                    config):
    """The real Cityscapes configs (not only the demo ones) load through
    hrseg_plugin's loaders: a label file with labelIds instead of
    labelTrainIds fails naming the file and the values."""
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    root = tmp_path / 'cityscapes'
    shutil.copytree(demo_data / 'cityscapes', root)
    cfg = Config.fromfile(str(REPO / 'configs' / config))
    # the test pipeline names mmcv's loader (MMSegInferencer looks for it);
    # tools/test.py swaps the checked one in
    from hrseg_plugin.apis import use_checked_image_loader
    assert use_checked_image_loader(cfg)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipeline = cfg[loader].dataset.pipeline
        assert [t['type'] for t in pipeline
                if t['type'].startswith('hrseg_plugin.')] == [
                    'hrseg_plugin.LoadImageFromFile',
                    'hrseg_plugin.LoadSegAnnotations']
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = str(root)
    ds = DATASETS.build(ds_cfg)
    assert ds[0]['inputs'].shape[0] == 3
    seg_path = ds.get_data_info(1)['seg_map_path']
    seg = cv2.imread(seg_path, cv2.IMREAD_UNCHANGED)
    seg[0, 0] = 26  # a labelId, not a train id
    write_png(seg_path, seg)
    with pytest.raises(ValueError, match=f'label file {seg_path} has values '
                       r'26 outside \[0, 19\)'):
        ds[1]


def make_ade20k(root, label_values):
    for split in ('training', 'validation'):
        (root / 'images' / split).mkdir(parents=True)
        (root / 'annotations' / split).mkdir(parents=True)
        for i, value in enumerate(label_values):
            write_png(root / 'images' / split / f'a{i}.jpg',
                      np.full((64, 96, 3), 100, np.uint8))
            write_png(root / 'annotations' / split / f'a{i}.png',
                      np.full((64, 96), value, np.uint8))


def make_pascal_context(root, label_values):
    for sub in ('JPEGImages', 'SegmentationClassContext',
                'ImageSets/SegmentationContext'):
        (root / sub).mkdir(parents=True)
    names = [f'2008_{i:06d}' for i in range(len(label_values))]
    for name, value in zip(names, label_values):
        write_png(root / 'JPEGImages' / f'{name}.jpg',
                  np.full((64, 96, 3), 100, np.uint8))
        write_png(root / 'SegmentationClassContext' / f'{name}.png',
                  np.full((64, 96), value, np.uint8))
    for split in ('train', 'val'):
        (root / 'ImageSets/SegmentationContext' / f'{split}.txt').write_text(
            '\n'.join(names) + '\n')


@pytest.mark.parametrize('config, make_data, num_classes', [
    ('hrnet_w48_ocr_ade20k.py', make_ade20k, 150),
    ('hrnet_w48_ocr_pascal_context.py', make_pascal_context, 59),
])
def test_ade20k_and_pascal_context_labels_checked(tmp_path, config,
                                                  make_data, num_classes):
    """The last class value (num_classes after reduce_zero_label's shift)
    loads; one more (a label file of a bigger label set) fails naming the
    file."""
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    root = tmp_path / 'data'
    make_data(root, [num_classes, num_classes + 1])
    cfg = Config.fromfile(str(REPO / 'configs' / config))
    for loader in ('train_dataloader', 'val_dataloader'):
        ds_cfg = cfg[loader].dataset
        ds_cfg.data_root = str(root)
        ds = DATASETS.build(ds_cfg)
        assert set(ds[0]['data_samples'].gt_sem_seg.data.unique().tolist()) \
            == {num_classes - 1}
        seg_path = ds.get_data_info(1)['seg_map_path']
        with pytest.raises(ValueError,
                           match=f'label file {seg_path} has values '
                           rf'{num_classes} outside \[0, {num_classes}\)'):
            ds[1]
