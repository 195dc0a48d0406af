"""The training-step speed-ups (``hrseg_plugin.models.speedups.seg_loss``):
the decode heads' upsampled cross-entropy computed with its gradient in
one pass gives mmseg's loss, accuracy and gradients, keeps nothing at full
resolution for the backward pass, steps aside for losses it does not
compute, and leaves whole training steps of our configs equal to the
stock models'."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from helpers import mmseg_scope_fixture, rel_error

init_default_scope('mmseg')
import hrseg_plugin  # noqa: E402,F401
from hrseg_plugin.models.speedups import seg_loss  # noqa: E402
from hrseg_plugin.registry import MODELS  # noqa: E402

# plain type names are mmseg's, whatever scope an earlier test left
_scope = mmseg_scope_fixture()


ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _head(fast, **kwargs):
    cfg = dict(type='FCNHead', in_channels=16, channels=8, num_convs=1,
               num_classes=5, dropout_ratio=0, norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    if fast:
        cfg = dict(cfg, type='hrseg_plugin.WithSpeedups', module='FCNHead')
    torch.manual_seed(0)
    return MODELS.build(cfg).train()


def _samples(n=2, size=(40, 56), ignore=0.2, classes=5):
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(1)
    samples = []
    for _ in range(n):
        label = torch.randint(0, classes, (1, *size), generator=gen)
        label[torch.rand(1, *size, generator=gen) < ignore] = 255
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return samples


def _loss_and_grad(head, feats, samples):
    feats = feats.detach().clone().requires_grad_()
    losses = head.loss_by_feat(head([feats]), samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    return {k: v.detach() for k, v in losses.items()}, feats.grad


@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_fast_loss_equals_mmseg(channels_last, align_corners,
                                avg_non_ignore):
    """Loss, accuracy and the gradient of the features equal stock mmseg's
    (the head's ``loss_by_feat`` of ``BaseDecodeHead``) to float
    rounding, in either memory layout, with ignored pixels."""
    loss = dict(type='CrossEntropyLoss', loss_weight=0.4,
                avg_non_ignore=avg_non_ignore)
    stock = _head(False, align_corners=align_corners, loss_decode=loss)
    fast = _head(True, align_corners=align_corners, loss_decode=loss)
    fast.load_state_dict(stock.state_dict())
    assert isinstance(fast.__dict__['loss_by_feat'],
                      seg_loss.functools.partial)
    feats = torch.randn(2, 16, 10, 14, generator=torch.Generator()
                        .manual_seed(2))
    if channels_last:
        feats = feats.contiguous(memory_format=torch.channels_last)
    samples = _samples()
    want, want_grad = _loss_and_grad(stock, feats, samples)
    got, got_grad = _loss_and_grad(fast, feats, samples)
    assert set(got) == set(want) == {'loss_ce', 'acc_seg'}
    assert rel_error(got['loss_ce'], want['loss_ce']) < 1e-6
    assert got['acc_seg'].shape == want['acc_seg'].shape == (1, )
    assert torch.allclose(got['acc_seg'], want['acc_seg'])
    assert rel_error(got_grad, want_grad) < 1e-5
    assert got_grad.is_contiguous(
        memory_format=torch.channels_last if channels_last else
        torch.contiguous_format)


def test_fast_loss_keeps_nothing_at_full_resolution():
    """Memory without recomputation: what the autograd graph saves for the
    backward pass of the loss is at the logits' resolution, not at the
    label's (mmseg keeps the full-resolution log-softmax)."""
    logits = torch.randn(2, 19, 16, 32, requires_grad=True)
    label = torch.randint(0, 19, (2, 128, 256))
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
            lambda t: saved.append(t.numel()) or t, lambda t: t):
        loss, _ = seg_loss.upsampled_cross_entropy(logits, label)
    assert saved and max(saved) <= logits.numel()
    loss.backward()
    assert logits.grad.shape == logits.shape
    # no gradient wanted: no gradient computed, nothing saved
    with torch.no_grad():
        loss2, _ = seg_loss.upsampled_cross_entropy(logits, label)
    assert torch.equal(loss2, loss.detach())


@pytest.mark.parametrize('variant', ['class_weight', 'two_losses',
                                     'sampler', 'sigmoid'])
def test_other_losses_run_mmseg(variant, monkeypatch):
    """A loss the fused path does not compute runs mmseg's own code:
    class weights, several losses, a pixel sampler, sigmoid CE."""
    kwargs = {
        'class_weight': dict(loss_decode=dict(
            type='CrossEntropyLoss', class_weight=[1., 2., 1., 1., 3.])),
        'two_losses': dict(loss_decode=[
            dict(type='CrossEntropyLoss', loss_name='loss_ce'),
            dict(type='DiceLoss', loss_name='loss_dice')]),
        'sampler': dict(sampler=dict(type='OHEMPixelSampler', thresh=0.7,
                                     min_kept=100)),
        'sigmoid': dict(num_classes=1, out_channels=1, threshold=0.3,
                        loss_decode=dict(type='CrossEntropyLoss',
                                         use_sigmoid=True)),
    }[variant]
    stock, fast = _head(False, **kwargs), _head(True, **kwargs)
    fast.load_state_dict(stock.state_dict())
    called = []
    monkeypatch.setattr(seg_loss.UpsampledCrossEntropy, 'apply',
                        lambda *a: called.append(a))
    feats = torch.randn(2, 16, 10, 14)
    classes = 2 if variant == 'sigmoid' else 5
    samples = _samples(classes=classes, ignore=0)
    want, want_grad = _loss_and_grad(stock, feats, samples)
    got, got_grad = _loss_and_grad(fast, feats, samples)
    assert not called
    assert set(got) == set(want)
    for k in want:
        assert torch.allclose(got[k], want[k])
    assert torch.allclose(got_grad, want_grad)


def _train_step(model, data, dtype=torch.float32):
    """Losses and the gradient of the input image of one training forward
    and backward (dropout off, so that two models draw nothing)."""
    model.train()
    for m in model.modules():
        if isinstance(m, (nn.Dropout, nn.Dropout2d)):
            m.eval()
    x = data['inputs'].to(dtype).requires_grad_()
    losses = model(x, copy.deepcopy(data['data_samples']), 'loss')
    loss, log = model.parse_losses(losses)
    loss.backward()
    return log, x.grad.float()


# HRNet-W18-OCR: three models built and stepped, about 30 s on a quiet
# 2-core machine, 110 s on a loaded one
@pytest.mark.parametrize('config', [
    'bisenet_r18', pytest.param('hrnet_w18_ocr', marks=pytest.mark.slow)])
def test_training_step_equals_stock(config):
    """A training step of our config (every head on the fused loss: the
    FFM / OCR heads and the stock FCN heads wrapped in
    ``hrseg_plugin.WithSpeedups``) logs the losses and accuracies of the
    stock mmseg model with the same weights, and its input gradient is that
    of the same model on mmseg's loss code to float rounding."""
    from hrseg_plugin.apis import benchmark as bm
    from hrseg_plugin.utils import load_config
    path = osp.join(ROOT, 'configs', f'{config}.py')
    shape = (64, 128)
    ours = bm.random_model(path, shape=shape)
    stock = bm.random_model(load_config(path).stock_equivalent, shape=shape)
    bm.load_stock_weights(ours, stock, 'mmseg')
    heads = [m for m in ours.modules() if 'loss_by_feat' in m.__dict__]
    assert len(heads) == (3 if config == 'bisenet_r18' else 2)
    plain = copy.deepcopy(ours)
    for m in plain.modules():
        m.__dict__.pop('loss_by_feat', None)
    data = bm.make_inputs(ours, 2, shape)
    log, grad = _train_step(ours, data)
    stock_log, _ = _train_step(stock, data)
    _, plain_grad = _train_step(plain, data)
    assert set(log) == set(stock_log)
    for k, v in stock_log.items():
        # accuracies are percentages of 2 x 64 x 128 pixels: one pixel on
        # a near tie is 0.006
        tol = 0.02 if 'acc' in k else 1e-5 * abs(float(v))
        assert abs(float(log[k]) - float(v)) <= tol, k
    assert rel_error(grad, plain_grad) < 1e-4
