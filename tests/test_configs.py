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


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['hrseg_plugin']
    assert cfg.default_scope in ('mmseg', 'mmdet')
    init_default_scope(cfg.default_scope)
    import hrseg_plugin  # noqa: F401
    model = MODELS.build(cfg.model)
    # our backbone, or a stock one carrying our plugin blocks (SPNet)
    assert any(
        type(m).__module__.startswith('hrseg_plugin') for m in model.modules())
    assert sum(p.numel() for p in model.parameters()) > 0


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
