"""The speed-ups (``hrseg_plugin.models.speedups``): eval-mode conv +
BatchNorm folding gives the unfolded outputs on every model and on every
path a model is built from, survives modules replaced after the build
(``revert_sync_batchnorm``), keeps its cache fresh and leaves training
alone; ``hrseg_plugin.WithSpeedups`` for stock modules; the layout rule."""
import copy
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

from helpers import (count_batch_norms, mmseg_scope_fixture, randomize_,
                     rel_error)

init_default_scope('mmseg')
import hrseg_plugin  # noqa: E402,F401
from hrseg_plugin.models.speedups import (eval_folding,  # noqa: E402
                                          folding_pairs)
from hrseg_plugin.registry import MODELS  # noqa: E402

# plain type names are mmseg's, whatever scope an earlier test left
_scope = mmseg_scope_fixture()


ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
GEN = torch.Generator().manual_seed(0)
HRNET = dict(type='hrseg_plugin.HRNet', arch='w18_small_v1')


def _outputs(model, *args):
    with torch.no_grad():
        out = model(*args)
    return list(out) if isinstance(out, (list, tuple)) else [out]


def assert_folds_like_plain(model, *args, tol=1e-5):
    """Eval-mode outputs of ``model(*args)`` equal the unfolded ones, and
    no BatchNorm computes while folded; returns the unfolded count."""
    model.eval()
    with count_batch_norms() as folded_calls:
        folded = _outputs(model, *args)
    with eval_folding(False), count_batch_norms() as plain_calls:
        plain = _outputs(model, *args)
    assert len(folded) == len(plain)
    for a, b in zip(folded, plain):
        assert a.shape == b.shape and rel_error(a, b) < tol
    assert len(folded_calls) == 0 < len(plain_calls)
    return len(plain_calls)


def _head_inputs(channels, size=(16, 24), classes=None):
    feats = [
        torch.randn(2, c, size[0] // 2**i, size[1] // 2**i, generator=GEN)
        for i, c in enumerate(channels)
    ]
    if classes is None:
        return (feats, )
    return feats, torch.randn(2, classes, *size, generator=GEN)


@pytest.mark.parametrize('channels_last', [False, True])
def test_ocr_head_folded_equals_unfolded(channels_last):
    head = randomize_(MODELS.build(dict(
        type='hrseg_plugin.OCRHead', in_channels=[18, 36, 72, 144],
        in_index=(0, 1, 2, 3), input_transform='resize_concat', channels=32,
        ocr_channels=16, num_classes=5, norm_cfg=dict(type='BN'))))
    feats, prev = _head_inputs([18, 36, 72, 144], classes=5)
    if channels_last:
        feats = [f.contiguous(memory_format=torch.channels_last)
                 for f in feats]
    # every norm of the head folds, the out-projection's and the
    # bottleneck's of the rearranged attention included
    assert len(folding_pairs(head)) == sum(
        isinstance(m, _BatchNorm) for m in head.modules()) == 8
    assert_folds_like_plain(head, feats, prev)


@pytest.mark.parametrize('attention_cfg', [
    None, dict(reduction=None, norm_cfg=dict(type='BN'))])
def test_ffm_head_folded_equals_unfolded(attention_cfg):
    head = randomize_(MODELS.build(dict(
        type='hrseg_plugin.FFMHead', in_channels=[16, 24], channels=32,
        num_classes=5, norm_cfg=dict(type='BN'),
        attention_cfg=attention_cfg)))
    feats = [torch.randn(2, c, 12, 20, generator=GEN) for c in (16, 24)]
    assert_folds_like_plain(head, feats)


def test_strip_pooling_head_folded_equals_unfolded():
    head = randomize_(MODELS.build(dict(
        type='hrseg_plugin.StripPoolingHead', in_channels=32, channels=8,
        num_classes=5, pool_sizes=(4, 2), norm_cfg=dict(type='BN'))))
    assert_folds_like_plain(head, _head_inputs([32])[0])


def _build(config, **options):
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.merge_from_dict(options)
    init_default_scope(cfg.default_scope)
    return cfg, MODELS.build(cfg.model)


def test_spnet_stock_resnet_folds_through_the_config():
    """configs/demo/spnet_r50.py: stock ResNetV1c (SyncBN) through
    hrseg_plugin.WithSpeedups; after revert_sync_batchnorm its stem,
    blocks, projections and SPM plugins fold."""
    from mmseg.models.backbones import ResNetV1c
    _, model = _build('configs/demo/spnet_r50.py')
    assert type(model.backbone) is ResNetV1c
    model = revert_sync_batchnorm(randomize_(model))
    backbone = model.backbone
    norms = [m for m in backbone.modules() if isinstance(m, _BatchNorm)]
    assert len(folding_pairs(backbone)) == len(norms)
    assert_folds_like_plain(backbone, torch.randn(2, 3, 64, 96,
                                                  generator=GEN))
    assert all(p.folds() for p in folding_pairs(backbone))


def _our_pairs_fold_and_cache(model):
    """Every pair of ``model`` folds, paired with the model's current
    norms, and its cache is filled (after a no-grad eval forward)."""
    pairs = folding_pairs(model)
    assert pairs
    for p in pairs:
        assert p.folds()
        assert getattr(p.parent, p.norm_name) is p.norm
        assert p._cache is not None


def test_revert_sync_batchnorm_repairs_and_folds():
    """A SyncBN config (configs/demo/hrnet_ocr.py), then mmengine's
    revert_sync_batchnorm (the runner and our tools do it after the build):
    the new _BatchNormXd modules are paired on the first eval forward; the
    outputs equal the unfolded ones, and no norm computes (the stock
    auxiliary FCN head is built through hrseg_plugin.WithSpeedups)."""
    _, model = _build('configs/demo/hrnet_ocr.py')
    randomize_(model)
    paired = {id(p.norm) for p in folding_pairs(model)}
    model = revert_sync_batchnorm(model).eval()
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert all(type(m).__name__ == '_BatchNormXd' for m in norms)
    assert not paired & {id(m) for m in norms}  # all replaced
    x = torch.randn(2, 3, 64, 96, generator=GEN)
    with count_batch_norms() as calls:
        folded = _outputs(model._forward, x)
    _our_pairs_fold_and_cache(model)
    unpaired = len(norms) - len(folding_pairs(model))
    assert unpaired == 0
    assert len(calls) == 0
    with eval_folding(False):
        plain = _outputs(model._forward, x)
    assert rel_error(folded[0], plain[0]) < 1e-5


def test_replaced_norms_never_double_normalise():
    """Modules replaced behind the pairs' back give the plain result: a
    norm swapped for another BatchNorm (re-paired), for an Identity (mmcv's
    fuse_conv_bn folds and removes the norms itself)."""
    from mmcv.cnn import fuse_conv_bn
    model = randomize_(MODELS.build(HRNET)).eval()
    x = torch.randn(1, 3, 64, 64, generator=GEN)
    _outputs(model, x)  # pairs in use, caches filled
    block = model.stage2[0].branches[0][0]
    other = randomize_(nn.BatchNorm2d(block.norm1.num_features), seed=3)
    block.add_module(block.norm1_name, other.eval())
    with eval_folding(False):
        ref = _outputs(model, x)
    assert_folds_like_plain(model, x)
    assert block.conv1.forward.__self__.norm is other
    fused = fuse_conv_bn(copy.deepcopy(model))
    got = _outputs(fused, x)
    for a, b in zip(got, ref):
        assert rel_error(a, b) < 1e-5


def test_cache_follows_every_change():
    model = randomize_(MODELS.build(HRNET)).eval()
    x = torch.randn(1, 3, 64, 64, generator=GEN)
    pair = model.layer1[0].conv1.forward.__self__

    def check():
        with eval_folding(False):
            ref = _outputs(model, x)
        got = _outputs(model, x)
        for a, b in zip(got, ref):
            assert rel_error(a, b) < 1e-5

    check()
    cached = pair._cache[1]
    _outputs(model, x)
    assert pair._cache[1] is cached  # reused, not recomputed
    # statistics changed in place after an eval forward
    with torch.no_grad():
        pair.norm.running_var.mul_(4)
        model.conv1.weight.add_(0.1)
    check()
    assert pair._cache[1] is not cached
    # load_state_dict copies new values into the same tensors
    other = randomize_(MODELS.build(HRNET), seed=5)
    model.load_state_dict(other.state_dict())
    check()
    # train() / eval(): a training step updates the statistics
    model.train()
    with torch.no_grad():
        model(x)
    assert pair._cache is None  # dropped while training
    model.eval()
    check()
    # .to(): new tensors
    model.double()
    x = x.double()
    check()
    assert pair._cache[1].dtype == torch.float64


def test_grad_enabled_folds_per_call_without_cache():
    model = randomize_(MODELS.build(HRNET)).eval()
    x = torch.randn(1, 3, 64, 64, generator=GEN)
    with count_batch_norms() as calls:
        model(x)
    assert not calls
    assert all(p._cache is None for p in folding_pairs(model))


def _grads(model, x):
    model.zero_grad()
    out = model(x)
    sum((t**2).mean() for t in out).backward()
    return out, {n: p.grad.clone() for n, p in model.named_parameters()
                 if p.grad is not None}


def test_frozen_norms_fold_with_the_unfolded_gradients():
    """norm_eval=True training: the norms fold per call, and conv and
    BatchNorm parameters get the gradients of the unfolded network."""
    model = randomize_(MODELS.build(dict(HRNET, norm_eval=True))).train()
    x = torch.randn(2, 3, 64, 64, generator=GEN)
    with count_batch_norms() as calls:
        out, grads = _grads(model, x)
    assert not calls
    with eval_folding(False):
        ref_out, ref_grads = _grads(model, x)
    for a, b in zip(out, ref_out):
        assert rel_error(a, b) < 1e-5
    assert set(grads) == set(ref_grads)
    assert any(n.endswith('bn1.weight') for n in grads)
    for name, g in ref_grads.items():
        assert rel_error(grads[name], g) < 1e-4, name


def test_nothing_folds_while_norms_train():
    model = randomize_(MODELS.build(HRNET)).train()
    x = torch.randn(2, 3, 64, 64, generator=GEN)
    with count_batch_norms() as calls:
        model(x)
    assert len(calls) == len(folding_pairs(model))
    assert not any(p.folds() for p in folding_pairs(model))


@pytest.mark.parametrize('duplicate', [
    copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_copies_fold_with_their_own_parameters(duplicate):
    """deepcopy (EMA models) and pickle (torch.save of a whole model): the
    copy's pairs are its own modules'."""
    model = randomize_(MODELS.build(HRNET)).eval()
    x = torch.randn(1, 3, 64, 64, generator=GEN)
    before = _outputs(model, x)
    twin = duplicate(model)
    for p in folding_pairs(twin):
        assert p.parent in set(twin.modules())
    randomize_(twin, seed=7)
    assert_folds_like_plain(twin, x)
    for a, b in zip(_outputs(model, x), before):
        assert torch.equal(a, b)


@pytest.mark.parametrize('form', ['flat', 'dict'])
def test_with_speedups_returns_the_stock_module(form):
    from mmseg.models.backbones import ResNetV1c
    from mmseg.registry import MODELS as MMSEG_MODELS
    init_default_scope('mmseg')
    args = dict(depth=18, stem_channels=16, base_channels=8)
    cfg = dict(type='hrseg_plugin.WithSpeedups', module='ResNetV1c', **args)
    if form == 'dict':
        cfg = dict(type='hrseg_plugin.WithSpeedups',
                   module=dict(type='ResNetV1c', depth=50),
                   **args)  # merged over the dict's
    model = MMSEG_MODELS.build(cfg)
    stock = MMSEG_MODELS.build(dict(args, type='ResNetV1c'))
    assert type(model) is ResNetV1c and model.depth == 18
    assert list(model.state_dict()) == list(stock.state_dict())
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert len(folding_pairs(model)) == len(norms)


def _image(tmp_path, h=64, w=96):
    import mmcv
    path = str(tmp_path / 'img.png')
    rng = np.random.default_rng(0)
    mmcv.imwrite(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), path)
    return path


@pytest.mark.slow
def test_mmseg_init_model_and_inference_model_fold(tmp_path):
    """mmseg's own API (no revert_sync_batchnorm: the norms stay SyncBN,
    which computes as BN in one process) folds and predicts the unfolded
    scores."""
    from mmseg.apis import inference_model, init_model
    cfg = Config.fromfile(osp.join(ROOT, 'configs/demo/hrnet_ocr.py'))
    model = init_model(cfg, device='cpu')
    randomize_(model)
    img = _image(tmp_path)
    got = inference_model(model, img).seg_logits.data
    _our_pairs_fold_and_cache(model)
    with eval_folding(False):
        ref = inference_model(model, img).seg_logits.data
    assert rel_error(got, ref) < 1e-5


def test_mmdet_init_detector_folds():
    """mmdet's init_detector reverts SyncBN itself: the backbone and neck
    re-pair and fold; features equal the unfolded ones."""
    from mmdet.apis import init_detector
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/demo/faster_rcnn_hrnetv2p_w18.py'))
    model = randomize_(init_detector(cfg, device='cpu'))
    x = torch.randn(1, 3, 64, 96, generator=GEN)
    got = _outputs(model.extract_feat, x)
    _our_pairs_fold_and_cache(model.backbone)
    with eval_folding(False):
        ref = _outputs(model.extract_feat, x)
    for a, b in zip(got, ref):
        assert a.is_contiguous() and rel_error(a, b) < 1e-5


def test_runner_validation_model_folds(tmp_path):
    """The training loop's model (mmengine's Runner reverts SyncBN in
    wrap_model): in eval mode, as in validation, it folds."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(ROOT, 'configs/demo/bisenet_r18.py'))
    cfg.work_dir = str(tmp_path)
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_dataloader', 'val_cfg',
                'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    init_default_scope('mmseg')
    runner = Runner.from_cfg(cfg)
    model = randomize_(runner.model).eval()
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    x = torch.randn(1, 3, 64, 96, generator=GEN)
    got = _outputs(model._forward, x)
    _our_pairs_fold_and_cache(model.backbone)
    with eval_folding(False):
        ref = _outputs(model._forward, x)
    assert rel_error(got[0], ref[0]) < 1e-5


def test_layout_rule():
    """channels_last modules store their conv weights channels_last (also
    after loading a default-layout state dict) and take any input; HRNet
    returns the default layout unless out_channels_last."""
    model = MODELS.build(HRNET).eval()
    plain = MODELS.build(dict(HRNET, channels_last=False))
    model.load_state_dict(plain.state_dict())
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            assert m.weight.is_contiguous(memory_format=torch.channels_last)
    assert all(m.weight.is_contiguous() for m in plain.modules()
               if isinstance(m, nn.Conv2d))
    x = torch.randn(1, 3, 64, 64, generator=GEN)
    outs = _outputs(model, x)
    assert all(t.is_contiguous() for t in outs)
    keep = MODELS.build(dict(HRNET, out_channels_last=True)).eval()
    assert all(t.is_contiguous(memory_format=torch.channels_last)
               for t in _outputs(keep, x))
    with pytest.raises(ValueError, match='HRNet'):  # checks still report
        model(torch.randn(3, 64, 64))
