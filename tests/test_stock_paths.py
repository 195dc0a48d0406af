"""Every stock path an OpenMMLab user takes loads what stock training writes
(issue #17): for each config in configs/demo/ and a config a user writes
from README, the stock ``train.py`` of the config's library trains two
iterations, then, each in a fresh process, the stock ``test.py``, the
library's inferencer (``MMSegInferencer`` with ``out_dir`` /
``DetInferencer``) and ``init_model`` + ``inference_model``
(``init_detector`` + ``inference_detector``) load that checkpoint.

Only ``import hrseg_plugin`` (a config's ``custom_imports``) stands between
these and torch's weights-only refusal of mmengine checkpoints; nothing in
this test process allow-lists anything for them.
"""
import os
import sys
import textwrap

import pytest

from e2e import (NO_WORKERS, REPO, cityscapes_roots, coco_roots, run,
                 stock_tool)

# the segmentation and detection demo configs; the pose (mmpose) and
# classification (mmpretrain) ones train through their libraries' stock
# train.py in tests/test_demo_pose_cls_training.py
DEMO_CONFIGS = sorted(
    f'configs/demo/{f}' for f in os.listdir(REPO / 'configs' / 'demo')
    if f.endswith('.py') and f not in ('pose_hrnet.py', 'cls_hrnet.py'))

# A config written from README's "Using the package from a stock config":
# stock bases, our backbone and head by their scoped names, nothing else of
# ours (no hooks, stock loaders).
USER_CONFIG = '''
_base_ = ['mmseg::_base_/models/ocrnet_hr18.py',
          'mmseg::_base_/datasets/cityscapes.py',
          'mmseg::_base_/default_runtime.py',
          'mmseg::_base_/schedules/schedule_80k.py']
custom_imports = dict(imports=['hrseg_plugin'], allow_failed_imports=False)
channels = [16, 32, 64, 128]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,  # the stock base downloads ImageNet weights otherwise
    data_preprocessor=dict(size=(128, 128)),
    backbone=dict(_delete_=True, type='hrseg_plugin.HRNet',
                  arch='w18_small_v1', norm_cfg=norm_cfg),
    decode_head=[
        dict(type='FCNHead', in_channels=channels, channels=sum(channels),
             in_index=(0, 1, 2, 3), input_transform='resize_concat',
             kernel_size=1, num_convs=1, concat_input=False,
             dropout_ratio=-1, num_classes=19, norm_cfg=norm_cfg,
             align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4)),
        dict(type='hrseg_plugin.OCRHead', in_channels=channels,
             in_index=(0, 1, 2, 3), input_transform='resize_concat',
             channels=64, ocr_channels=32, dropout_ratio=-1,
             num_classes=19, norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    ])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=(128, 128)),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
'''


def scope_of(config):
    return 'mmdet' if 'rcnn' in config else 'mmseg'


def data_options(config, demo_data):
    if scope_of(config) == 'mmdet':
        return coco_roots(demo_data)
    return cityscapes_roots(demo_data)


def short_run_options():
    return [
        'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2',
        *NO_WORKERS
    ]


def run_output(cmd):
    proc = run(cmd)
    return proc.stdout + proc.stderr


API_SEG = '''
import glob, os, sys
from mmseg.apis import MMSegInferencer, inference_model, init_model
config, ckpt, images, out = sys.argv[1:5]
img = sorted(glob.glob(images + '/*/*.png'))[0]
model = init_model(config, ckpt, device='cpu')
result = inference_model(model, img)
print('init_model+inference_model', tuple(result.pred_sem_seg.data.shape))
inferencer = MMSegInferencer(model=config, weights=ckpt, device='cpu')
inferencer(img, out_dir=out)
print('MMSegInferencer', sorted(os.listdir(out)),
      len(os.listdir(os.path.join(out, 'vis'))))
'''

API_DET = '''
import glob, os, sys
from mmdet.apis import DetInferencer, inference_detector, init_detector
config, ckpt, images, out = sys.argv[1:5]
img = sorted(glob.glob(images + '/*.png'))[0]
model = init_detector(config, ckpt, device='cpu')
result = inference_detector(model, img)
print('init_detector+inference_detector', len(result.pred_instances))
inferencer = DetInferencer(model=config, weights=ckpt, device='cpu')
inferencer(img, out_dir=out)
print('DetInferencer', sorted(os.listdir(out)))
'''


@pytest.mark.slow
@pytest.mark.parametrize('config', DEMO_CONFIGS + ['user'])
def test_stock_tools_and_apis_load_stock_trained_checkpoints(
        config, demo_data, tmp_path):
    if config == 'user':
        config = tmp_path / 'my_ocrnet.py'
        config.write_text(USER_CONFIG)
    scope = scope_of(str(config))
    data = data_options(str(config), demo_data)
    work = tmp_path / 'work'
    run_output([sys.executable, stock_tool(scope, 'train.py'), config,
                '--work-dir', work, '--cfg-options', *data,
                *short_run_options()])
    ckpt = work / 'iter_2.pth'
    assert ckpt.is_file()

    out = run_output([sys.executable, stock_tool(scope, 'test.py'), config,
                      ckpt, '--work-dir', tmp_path / 'test', '--cfg-options',
                      *data, 'test_dataloader.num_workers=0',
                      'test_dataloader.persistent_workers=False'])
    assert ('mIoU' in out) if scope == 'mmseg' else ('bbox_mAP' in out)

    # the inferencers and init functions take one image of the demo set
    api = tmp_path / 'api.py'
    api.write_text(textwrap.dedent(API_SEG if scope == 'mmseg' else API_DET))
    images = (f'{demo_data}/cityscapes/leftImg8bit/val' if scope == 'mmseg'
              else f'{demo_data}/coco/val2017')
    out = run_output([sys.executable, api, config, ckpt, images,
                      tmp_path / 'out'])
    if scope == 'mmseg':
        assert 'init_model+inference_model (1, 128, 256)' in out
        assert "MMSegInferencer ['pred', 'vis'] 1" in out
    else:
        assert 'init_detector+inference_detector' in out
        assert "DetInferencer ['vis']" in out  # no_save_pred by default
