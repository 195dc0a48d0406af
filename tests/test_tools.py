"""End-to-end tests of tools/train.py, tools/test.py and tools/infer.py.

Each tool runs as a subprocess (``sys.executable``, cwd = repo root) on tiny
data written to tmp dirs:

* mmseg: a small ``EncoderDecoder`` (ResNetV1c-18 with 8 base channels,
  SyncBN as in real configs, ``FCNHead``) on four 64x128 images in
  Cityscapes layout (a bright rectangle on a noisy background, labelled
  ``sidewalk``; the rest ``road``) with the stock ``CityscapesDataset``.
* mmdet: a small ``RetinaNet`` (ResNet-18 with 16 base channels) on a
  three-image COCO json of rectangles.
"""
import json
import math
import os.path as osp
import textwrap
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip('cv2')

from e2e import read_scalars, run_tool  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / 'tools'


def write_config(path, text, **values):
    path = Path(path)
    path.write_text(textwrap.dedent(text).format(**values))
    return path


# --------------------------------------------------------------------------
# mmseg fixtures
# --------------------------------------------------------------------------
SEG_CONFIG = '''\
    default_scope = 'mmseg'
    norm_cfg = dict(type='SyncBN', requires_grad=True)
    data_preprocessor = dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        size=(64, 128),
        pad_val=0,
        seg_pad_val=255)
    model = dict(
        type='EncoderDecoder',
        data_preprocessor=data_preprocessor,
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            stem_channels=16,
            base_channels=8,
            num_stages=4,
            out_indices=(3, ),
            strides=(1, 2, 1, 1),
            dilations=(1, 1, 2, 4),
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            contract_dilation=True),
        decode_head=dict(
            type='FCNHead',
            in_channels=64,
            in_index=0,
            channels=32,
            num_convs=1,
            concat_input=False,
            dropout_ratio=0.0,
            num_classes=2,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))

    dataset_type = 'CityscapesDataset'
    data_root = {data_root!r}
    metainfo = dict(
        classes=('road', 'sidewalk'), palette=[[128, 64, 128], [244, 35, 232]])
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(128, 64), keep_ratio=True),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs'),
    ]
    train_dataloader = dict(
        batch_size=2,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            metainfo=metainfo,
            data_prefix=dict(
                img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=train_pipeline))
    val_dataloader = dict(
        batch_size=1,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            metainfo=metainfo,
            data_prefix=dict(
                img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
            pipeline=test_pipeline))
    test_dataloader = val_dataloader
    val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
    test_evaluator = val_evaluator

    optim_wrapper = dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4),
        clip_grad=None)
    train_cfg = dict(type='IterBasedTrainLoop', max_iters=8, val_interval=1000)
    val_cfg = dict(type='ValLoop')
    test_cfg = dict(type='TestLoop')
    default_hooks = dict(
        timer=dict(type='IterTimerHook'),
        logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
        param_scheduler=dict(type='ParamSchedulerHook'),
        checkpoint=dict(
            type='CheckpointHook', by_epoch=False, interval=1000,
            save_last=True),
        sampler_seed=dict(type='DistSamplerSeedHook'),
        visualization=dict(type='SegVisualizationHook'))
    env_cfg = dict(
        cudnn_benchmark=False,
        mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
        dist_cfg=dict(backend='gloo'))
    vis_backends = [dict(type='LocalVisBackend')]
    visualizer = dict(
        type='SegLocalVisualizer', vis_backends=vis_backends,
        name='visualizer')
    log_processor = dict(by_epoch=False, window_size=1)
    log_level = 'INFO'
    load_from = None
    resume = False
    randomness = dict(seed=0)
'''


def make_seg_sample(rng, h=64, w=128):
    """A noisy dark image with one bright rectangle (label 1, 'sidewalk')
    on label 0 ('road')."""
    img = rng.integers(0, 60, size=(h, w, 3), dtype=np.uint8)
    label = np.zeros((h, w), np.uint8)
    y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
    y1, x1 = y0 + rng.integers(h // 4, h // 2), x0 + rng.integers(w // 4,
                                                                   w // 2)
    img[y0:y1, x0:x1] = rng.integers(180, 255, size=3, dtype=np.uint8)
    label[y0:y1, x0:x1] = 1
    return img, label


@pytest.fixture(scope='module')
def seg_config(tmp_path_factory):
    """A tiny Cityscapes-layout dataset and an mmseg config training on
    it."""
    root = tmp_path_factory.mktemp('seg')
    data = root / 'cityscapes'
    rng = np.random.default_rng(0)
    for split, n in (('train', 4), ('val', 2)):
        img_dir = data / 'leftImg8bit' / split / 'tinycity'
        ann_dir = data / 'gtFine' / split / 'tinycity'
        img_dir.mkdir(parents=True)
        ann_dir.mkdir(parents=True)
        for i in range(n):
            img, label = make_seg_sample(rng)
            name = f'tinycity_{i:06d}_000019'
            cv2.imwrite(str(img_dir / f'{name}_leftImg8bit.png'), img)
            cv2.imwrite(str(ann_dir / f'{name}_gtFine_labelTrainIds.png'),
                        label)
    return write_config(root / 'tiny_seg.py', SEG_CONFIG, data_root=str(data))


@pytest.fixture(scope='module')
def seg_trained(seg_config, tmp_path_factory):
    """Train the tiny segmentor for 4 iterations, then resume it from the
    latest checkpoint up to iteration 8; return the work dir and the output
    of both runs."""
    work_dir = tmp_path_factory.mktemp('seg_work')
    first = run_tool('train', seg_config, '--work-dir', work_dir,
                     '--cfg-options', 'train_cfg.max_iters=4')
    assert osp.isfile(work_dir / 'iter_4.pth')
    resumed = run_tool('train', seg_config, '--work-dir', work_dir,
                       '--resume', '--cfg-options', 'train_cfg.max_iters=8')
    return work_dir, first, resumed


# --------------------------------------------------------------------------
# mmseg tests
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_train_seg_loss_decreases(seg_trained):
    work_dir, first, _ = seg_trained
    runs = read_scalars(work_dir)
    assert len(runs) == 2
    records = runs[0]
    assert [r['step'] for r in records] == [1, 2, 3, 4]
    losses = [r['loss'] for r in records]
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0], losses
    # ... and still lower after the resumed run
    assert runs[1][-1]['loss'] < losses[0], losses + [runs[1][-1]['loss']]
    # SyncBN in the config is reverted to BN for the single CPU process
    assert 'SyncBatchNorm' in first.stdout + first.stderr


@pytest.mark.slow
def test_resume_from_latest_checkpoint(seg_trained):
    work_dir, _, resumed = seg_trained
    assert 'Auto resumed from the latest checkpoint' in (resumed.stdout +
                                                         resumed.stderr)
    runs = read_scalars(work_dir)
    assert [r['step'] for r in runs[1]] == [5, 6, 7, 8]
    assert osp.isfile(work_dir / 'iter_8.pth')
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith(
        'iter_8.pth')


@pytest.mark.slow
def test_test_seg_reports_miou(seg_trained, seg_config, tmp_path):
    work_dir = seg_trained[0]
    out_dir = tmp_path / 'out'
    show_dir = tmp_path / 'show'
    proc = run_tool('test', seg_config, work_dir / 'iter_8.pth',
                    '--work-dir', tmp_path / 'test_work', '--out', out_dir,
                    '--show-dir', show_dir)
    assert 'mIoU' in proc.stdout
    metrics = json.loads((out_dir / 'metrics.json').read_text())
    assert set(metrics) >= {'aAcc', 'mIoU', 'mAcc'}
    assert 0 <= metrics['mIoU'] <= 100
    assert f'mIoU: {metrics["mIoU"]:.4f}' in proc.stdout
    # --show-dir: mmseg paints every test image through the visualizer's
    # LocalVisBackend into DIR/vis_data/vis_image/
    painted = list((show_dir / 'vis_data' / 'vis_image').glob('*.png'))
    assert len(painted) == 2


def _infer_inputs(tmp_path):
    """A folder with two images (one of another size than the training
    data) and a corrupt image file outside it."""
    rng = np.random.default_rng(1)
    folder = tmp_path / 'imgs'
    folder.mkdir()
    sizes = {'a': (64, 128), 'b': (50, 90)}
    for stem, (h, w) in sizes.items():
        img, _ = make_seg_sample(rng, h, w)
        cv2.imwrite(str(folder / f'{stem}.jpg'), img)
    (folder / 'notes.txt').write_text('not an image, not listed')
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'this is not a png')
    # a PNG signature, then garbage: only decoding it fails
    truncated = tmp_path / 'truncated.png'
    truncated.write_bytes(b'\x89PNG\r\n\x1a\n' + b'\0' * 64)
    return folder, sizes, bad, truncated


@pytest.mark.slow
def test_infer_seg(seg_trained, seg_config, tmp_path):
    work_dir = seg_trained[0]
    folder, sizes, bad, truncated = _infer_inputs(tmp_path)
    out = tmp_path / 'vis'
    ckpt = work_dir / 'iter_8.pth'

    # an unreadable image fails, naming the file (found before the model is
    # loaded)
    proc = run_tool('infer', seg_config, ckpt, folder, bad, '--out', out,
                    expect_rc=2)
    assert f'cannot read image {bad}' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not out.exists()

    # --skip-bad skips it, and the one that only fails to decode, and
    # counts them in the summary
    proc = run_tool('infer', seg_config, ckpt, folder, bad, truncated,
                    '--out', out, '--skip-bad', '--device', 'cpu',
                    '--opacity', '0.7')
    assert 'skipped 2 unreadable image(s)' in proc.stdout
    assert f'cannot read image {truncated}' in proc.stderr
    assert 'wrote 2 image(s)' in proc.stdout
    assert 'infer: 100%' in proc.stderr  # the tqdm bar
    written = sorted(p.name for p in out.iterdir())
    assert written == ['a.png', 'b.png']
    for stem, (h, w) in sizes.items():
        vis = cv2.imread(str(out / f'{stem}.png'))
        assert vis.shape == (h, w, 3)
        # the overlay changed the picture
        src = cv2.imread(str(folder / f'{stem}.jpg'))
        assert np.abs(vis.astype(int) - src.astype(int)).mean() > 5


@pytest.mark.slow
def test_amp_on_cpu(seg_config, tmp_path):
    work_dir = tmp_path / 'work'
    proc = run_tool('train', seg_config, '--work-dir', work_dir, '--amp',
                    '--cfg-options', 'train_cfg.max_iters=2')
    assert 'CPUAmpOptimWrapper' in proc.stdout + proc.stderr
    (records, ) = read_scalars(work_dir)
    assert [r['step'] for r in records] == [1, 2]
    assert all(math.isfinite(r['loss']) for r in records)
    # the dumped config records the wrapper actually used
    dumped = (work_dir / 'tiny_seg.py').read_text()
    assert "type='CPUAmpOptimWrapper'" in dumped


def test_cpu_amp_wrapper_autocasts_bf16():
    """The forward pass runs in bfloat16, parameters and gradients stay
    float32."""
    torch = pytest.importorskip('torch')
    from hrseg_plugin.apis import amp as ru
    wrapper_cls = ru.register_cpu_amp_optim_wrapper()
    assert ru.CPUAmpOptimWrapper is wrapper_cls
    from mmengine.registry import OPTIM_WRAPPERS
    model = torch.nn.Conv2d(3, 4, 3)
    wrapper = OPTIM_WRAPPERS.build(
        dict(
            type='CPUAmpOptimWrapper',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    with wrapper.optim_context(model):
        out = model(torch.randn(1, 3, 8, 8))
    assert out.dtype == torch.bfloat16
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().mean())
    assert model.weight.dtype == torch.float32
    assert not torch.equal(before, model.weight)
    with pytest.raises(ValueError, match='bfloat16'):
        wrapper_cls(optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                    dtype='float16')


# --------------------------------------------------------------------------
# argument / config errors (reported before any model is built)
# --------------------------------------------------------------------------
@pytest.mark.parametrize('tool', ['train', 'test', 'infer'])
def test_unknown_default_scope_rejected(tool, tmp_path):
    cfg = tmp_path / 'cls.py'
    cfg.write_text("default_scope = 'mmocr'\nmodel = dict(type='X')\n")
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'')
    extra = {
        'train': [],
        'test': [ckpt],
        'infer': [ckpt, tmp_path / 'img.png', '--out', tmp_path / 'o']
    }[tool]
    proc = run_tool(tool, cfg, *extra, expect_rc=2)
    assert "default_scope='mmocr'" in proc.stderr
    assert "'mmseg', 'mmdet', 'mmpose', 'mmpretrain'" in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_missing_default_scope_rejected(tmp_path):
    cfg = tmp_path / 'noscope.py'
    cfg.write_text("model = dict(type='X')\n")
    proc = run_tool('train', cfg, expect_rc=2)
    assert 'no `default_scope`' in proc.stderr
    assert "'mmseg', 'mmdet'" in proc.stderr


@pytest.mark.slow
def test_missing_files_rejected(seg_config, tmp_path):
    missing_ckpt = tmp_path / 'nope' / 'iter_8.pth'
    proc = run_tool('test', seg_config, missing_ckpt, expect_rc=2)
    assert f'checkpoint file not found: {missing_ckpt}' in proc.stderr

    missing_cfg = tmp_path / 'nope.py'
    proc = run_tool('train', missing_cfg, expect_rc=2)
    assert f'config file not found: {missing_cfg}' in proc.stderr

    proc = run_tool('train', seg_config, '--resume', missing_ckpt,
                    expect_rc=2)
    assert f'checkpoint to resume from not found: {missing_ckpt}' \
        in proc.stderr


# --------------------------------------------------------------------------
# mmdet
# --------------------------------------------------------------------------
DET_CONFIG = '''\
    default_scope = 'mmdet'
    model = dict(
        type='RetinaNet',
        data_preprocessor=dict(
            type='DetDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_size_divisor=32),
        backbone=dict(
            type='ResNet',
            depth=18,
            base_channels=16,
            num_stages=4,
            out_indices=(1, 2, 3),
            frozen_stages=-1,
            norm_cfg=dict(type='BN', requires_grad=True),
            norm_eval=False,
            style='pytorch'),
        neck=dict(
            type='FPN',
            in_channels=[32, 64, 128],
            out_channels=32,
            start_level=0,
            add_extra_convs='on_input',
            num_outs=5),
        bbox_head=dict(
            type='RetinaHead',
            num_classes=1,
            in_channels=32,
            stacked_convs=1,
            feat_channels=32,
            anchor_generator=dict(
                type='AnchorGenerator',
                octave_base_scale=4,
                scales_per_octave=3,
                ratios=[0.5, 1.0, 2.0],
                strides=[8, 16, 32, 64, 128]),
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[.0, .0, .0, .0],
                target_stds=[1.0, 1.0, 1.0, 1.0]),
            loss_cls=dict(
                type='FocalLoss',
                use_sigmoid=True,
                gamma=2.0,
                alpha=0.25,
                loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.4,
                min_pos_iou=0,
                ignore_iof_thr=-1),
            sampler=dict(type='PseudoSampler'),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        # score_thr=0: the barely trained model's scores stay near the
        # focal-loss prior (0.01); CocoMetric returns no metrics at all when
        # there is no detection.
        test_cfg=dict(
            nms_pre=1000,
            min_bbox_size=0,
            score_thr=0.0,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=100))

    dataset_type = 'CocoDataset'
    data_root = {data_root!r}
    metainfo = dict(classes=('box', ), palette=[(220, 20, 60)])
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(128, 128), keep_ratio=True),
        dict(type='PackDetInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(128, 128), keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor')),
    ]
    dataset = dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='ann.json',
        data_prefix=dict(img='images/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=4))
    train_dataloader = dict(
        batch_size=2,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(dataset, pipeline=train_pipeline))
    val_dataloader = dict(
        batch_size=1,
        num_workers=0,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(dataset, test_mode=True, pipeline=test_pipeline))
    test_dataloader = val_dataloader
    val_evaluator = dict(
        type='CocoMetric', ann_file=data_root + '/ann.json', metric='bbox')
    test_evaluator = val_evaluator

    optim_wrapper = dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
    train_cfg = dict(type='IterBasedTrainLoop', max_iters=3, val_interval=1000)
    val_cfg = dict(type='ValLoop')
    test_cfg = dict(type='TestLoop')
    default_hooks = dict(
        timer=dict(type='IterTimerHook'),
        logger=dict(type='LoggerHook', interval=1),
        param_scheduler=dict(type='ParamSchedulerHook'),
        checkpoint=dict(
            type='CheckpointHook', by_epoch=False, interval=1000,
            save_last=True),
        sampler_seed=dict(type='DistSamplerSeedHook'),
        visualization=dict(type='DetVisualizationHook'))
    env_cfg = dict(
        cudnn_benchmark=False,
        mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
        dist_cfg=dict(backend='gloo'))
    vis_backends = [dict(type='LocalVisBackend')]
    visualizer = dict(
        type='DetLocalVisualizer', vis_backends=vis_backends,
        name='visualizer')
    log_processor = dict(type='LogProcessor', window_size=1, by_epoch=False)
    log_level = 'INFO'
    load_from = None
    resume = False
    randomness = dict(seed=0)
'''


@pytest.fixture(scope='module')
def det_config(tmp_path_factory):
    """Three 128x128-ish images with rectangles and their COCO json."""
    root = tmp_path_factory.mktemp('det')
    data = root / 'coco'
    (data / 'images').mkdir(parents=True)
    rng = np.random.default_rng(0)
    images, annotations = [], []
    for i, (h, w) in enumerate([(128, 128), (96, 128), (128, 112)]):
        img = rng.integers(0, 60, size=(h, w, 3), dtype=np.uint8)
        name = f'img{i}.jpg'
        images.append(dict(id=i + 1, file_name=name, height=h, width=w))
        for _ in range(2):
            bw, bh = rng.integers(20, 50, size=2)
            x, y = rng.integers(0, w - bw), rng.integers(0, h - bh)
            img[y:y + bh, x:x + bw] = rng.integers(150, 255, size=3)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=i + 1,
                    category_id=1,
                    bbox=[int(x), int(y), int(bw), int(bh)],
                    area=int(bw * bh),
                    iscrowd=0))
        cv2.imwrite(str(data / 'images' / name), img)
    (data / 'ann.json').write_text(
        json.dumps(
            dict(
                images=images,
                annotations=annotations,
                categories=[dict(id=1, name='box')])))
    return write_config(root / 'tiny_det.py', DET_CONFIG, data_root=str(data))


def test_mmcv_ops_available():
    """mmdet's NMS / RoIAlign need mmcv's compiled ops."""
    torch = pytest.importorskip('torch')
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


@pytest.mark.slow
def test_det_train_test_infer(det_config, tmp_path):
    work_dir = tmp_path / 'work'
    run_tool('train', det_config, '--work-dir', work_dir)
    (records, ) = read_scalars(work_dir)
    assert [r['step'] for r in records] == [1, 2, 3]
    assert all(math.isfinite(r['loss']) for r in records)
    ckpt = work_dir / 'iter_3.pth'
    assert osp.isfile(ckpt)

    out_dir = tmp_path / 'out'
    proc = run_tool('test', det_config, ckpt, '--work-dir', work_dir,
                    '--out', out_dir)
    assert 'coco/bbox_mAP:' in proc.stdout
    metrics = json.loads((out_dir / 'metrics.json').read_text())
    assert 'coco/bbox_mAP' in metrics

    img = Path(det_config).parent / 'coco' / 'images' / 'img1.jpg'
    vis = tmp_path / 'vis'
    run_tool('infer', det_config, ckpt, img, '--out', vis, '--score-thr',
             '0.005')
    painted = cv2.imread(str(vis / 'img1.png'))
    assert painted.shape == (96, 128, 3)
