"""Every config of the repo builds through the stock registries."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['hrseg_plugin']
    # pose (mmpose) and classification (mmpretrain) configs: issue 18;
    # mmpretrain.models imports torchvision (the conftest's test stub here)
    assert cfg.default_scope in ('mmseg', 'mmdet', 'mmpose', 'mmpretrain')
    init_default_scope(cfg.default_scope)
    import hrseg_plugin  # noqa: F401
    model = MODELS.build(cfg.model)
    # our backbone, or a stock one carrying our plugin blocks (SPNet)
    assert any(
        type(m).__module__.startswith('hrseg_plugin') for m in model.modules())
    assert sum(p.numel() for p in model.parameters()) > 0


def checkpoint_inits(node, where='model'):
    """(where, init_cfg) of every init_cfg below ``node`` that loads a
    checkpoint."""
    found = []
    if isinstance(node, dict):
        if 'checkpoint' in node and 'type' in node:
            found.append((where, node))
        for key, value in node.items():
            found += checkpoint_inits(value, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            found += checkpoint_inits(value, f'{where}.{i}')
    return found


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_configs_load_pretrained_weights_and_data_checked(path):
    """Pretrained weights load through hrseg_plugin.CheckedPretrained,
    checkpoints are written atomically, a NaN loss stops training, and the
    segmentation data go through the checked loaders (issue 7)."""
    cfg = Config.fromfile(path)
    assert cfg.model.get('pretrained') is None, (
        'model.pretrained is loaded by mmengine\'s unchecked Pretrained')
    for where, init in checkpoint_inits(cfg.model.to_dict()):
        assert init['type'] == 'hrseg_plugin.CheckedPretrained', where
    assert cfg.default_hooks.checkpoint.type == \
        'hrseg_plugin.AtomicCheckpointHook'
    assert {'type': 'hrseg_plugin.NonFiniteLossHook'} in cfg.custom_hooks
    if cfg.default_scope != 'mmseg':
        return
    for loader in ('train_dataloader', 'val_dataloader'):
        types = [t['type'] for t in cfg[loader].dataset.pipeline]
        assert 'LoadImageFromFile' not in types, loader
        assert 'LoadAnnotations' not in types, loader
        assert 'hrseg_plugin.LoadImageFromFile' in types, loader
        assert 'hrseg_plugin.LoadSegAnnotations' in types, loader
    # the test pipeline is the val one with mmcv's loader name, which
    # MMSegInferencer looks for (tools/test.py swaps the checked one in)
    val = cfg.val_dataloader.dataset.pipeline
    test = cfg.test_dataloader.dataset.pipeline
    assert test[0] == dict(type='LoadImageFromFile')
    assert test[1:] == val[1:]
    assert val[0]['type'] == 'hrseg_plugin.LoadImageFromFile'


def test_syncbn_reverted_to_bn_by_runner(tmp_path):
    """Stock-style SyncBN configs run in one CPU process: mmengine's runner
    turns SyncBN into BN when not distributed."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(ROOT, 'configs/demo/hrnet_ocr.py'))
    cfg.work_dir = str(tmp_path)
    init_default_scope('mmseg')
    import hrseg_plugin  # noqa: F401
    built = MODELS.build(cfg.model)
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in built.modules())
    cfg.train_dataloader = None
    cfg.train_cfg = None
    cfg.optim_wrapper = None
    cfg.param_scheduler = None
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    runner = Runner.from_cfg(cfg)
    assert not any(
        isinstance(m, torch.nn.SyncBatchNorm) for m in runner.model.modules())
    # mmengine's revert_sync_batchnorm gives its own _BatchNormXd
    assert any(type(m).__name__ == '_BatchNormXd'
               for m in runner.model.modules())
