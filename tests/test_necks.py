"""The representation necks of HRNet (V1, V2, V2p = HRFPN) and the
classification neck, on their own and against stock mmdet's HRFPN."""
import warnings

import pytest
import torch
import torch.nn.functional as F
from helpers import randomize_, rel_error
from mmdet.models.necks import HRFPN as StockHRFPN

from hrseg_plugin.models.backbones import HRNet
from hrseg_plugin.models.necks import (HRFPN, HRNetClsNeck, HRNetV1Neck,
                                       HRNetV2Neck)


W18 = [18, 36, 72, 144]
SMALL = [16, 32, 64, 128]  # w18_small_v1


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """One torch thread: these models are small, and with other processes
    on the 2 cores a second thread spin-waits (measured: a W18 Faster R-CNN
    prediction takes 0.2 s of CPU on 1 thread, up to 4 s on 2)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def branches(channels, h, w, batch=2, seed=0):
    """Random HRNet-like branch features for an (h, w) branch 0, each next
    branch a stride-2 step smaller (ceil, as the backbone's convs)."""
    gen = torch.Generator().manual_seed(seed)
    outs = []
    for c in channels:
        outs.append(torch.randn(batch, c, h, w, generator=gen))
        h, w = (h + 1) // 2, (w + 1) // 2
    return outs


@pytest.fixture(scope='module')
def small_hrnet():
    return HRNet(arch='w18_small_v1').eval()


# --------------------------------------------------------------------------
# V1
# --------------------------------------------------------------------------
def test_v1_is_the_high_resolution_branch():
    xs = branches(W18, 16, 24)
    (out, ) = HRNetV1Neck(W18)(xs)
    assert out is xs[0]


def test_v1_projection_and_odd_sizes(small_hrnet):
    neck = HRNetV1Neck(SMALL, out_channels=8, norm_cfg=dict(type='BN'))
    with torch.no_grad():
        (out, ) = neck.eval()(small_hrnet(torch.randn(1, 3, 67, 45)))
    assert out.shape == (1, 8, 17, 12)
    assert neck.out_channels == 8
    assert (out >= 0).all()  # ReLU by default


def test_v1_rejects_wrong_branches():
    with pytest.raises(ValueError, match=r'built for branches with channels '
                       r'\[18, 36, 72, 144\], got \[16, 32, 64, 128\]'):
        HRNetV1Neck(W18)(branches(SMALL, 8, 8))


# --------------------------------------------------------------------------
# V2
# --------------------------------------------------------------------------
def test_v2_concatenates_15c_channels_at_high_resolution():
    xs = branches(W18, 16, 20)
    neck = HRNetV2Neck(W18)
    (out, ) = neck(xs)
    assert neck.out_channels == 15 * 18 == out.shape[1]
    assert out.shape == (2, 270, 16, 20)
    # branch 0 as is, the others bilinearly upsampled, in branch order
    assert torch.equal(out[:, :18], xs[0])
    up = F.interpolate(xs[3], size=(16, 20), mode='bilinear',
                       align_corners=False)
    assert torch.allclose(out[:, 18 + 36 + 72:], up)


def test_v2_odd_sizes_through_hrnet(small_hrnet):
    neck = HRNetV2Neck(SMALL, out_channels=32, norm_cfg=dict(type='BN'))
    with torch.no_grad():
        feats = small_hrnet(torch.randn(1, 3, 67, 45))
        (out, ) = neck.eval()(feats)
        (cat, ) = HRNetV2Neck(SMALL)(feats)
    assert [f.shape[2:] for f in feats] == [(17, 12), (9, 6), (5, 3), (3, 2)]
    assert out.shape == (1, 32, 17, 12)
    assert cat.shape == (1, 240, 17, 12)


@pytest.mark.parametrize('mode', ['nearest', 'bicubic'])
def test_v2_upsample_cfg(mode):
    xs = branches(SMALL, 9, 7)
    (out, ) = HRNetV2Neck(SMALL, upsample_cfg=dict(mode=mode))(xs)
    ref = F.interpolate(xs[1], size=(9, 7), mode=mode,
                        **({} if mode == 'nearest' else
                           dict(align_corners=False)))
    assert torch.equal(out[:, 16:48], ref)


def test_v2_with_cp_same_values_and_gradients():
    torch.manual_seed(0)
    a = HRNetV2Neck(SMALL, out_channels=16)
    b = HRNetV2Neck(SMALL, out_channels=16, with_cp=True)
    b.load_state_dict(a.state_dict())
    xa = [x.requires_grad_() for x in branches(SMALL, 8, 8)]
    xb = [x.detach().clone().requires_grad_() for x in xa]
    ya, yb = a(xa)[0], b(xb)[0]
    assert torch.equal(ya, yb)
    ya.square().sum().backward()
    yb.square().sum().backward()
    for u, v in zip(xa, xb):
        assert rel_error(v.grad, u.grad) < 1e-6
    wa = a.reduction_conv.conv.weight.grad
    assert rel_error(b.reduction_conv.conv.weight.grad, wa) < 1e-6


# --------------------------------------------------------------------------
# V2p: HRFPN against stock mmdet's
# --------------------------------------------------------------------------
def hrfpn_pair(**kwargs):
    ours = HRFPN(W18, 32, **kwargs)
    stock = StockHRFPN(W18, 32, **kwargs)
    randomize_(stock)
    ours.load_state_dict(stock.state_dict(), strict=True)
    return ours.eval(), stock.eval()


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(pooling_type='MAX'),
    dict(num_outs=3),
    dict(stride=2, num_outs=5),
], ids=['default', 'max', 'num_outs3', 'stride2'])
def test_hrfpn_matches_stock(kwargs):
    ours, stock = hrfpn_pair(**kwargs)
    assert list(ours.state_dict()) == list(stock.state_dict())
    xs = branches(W18, 32, 48)
    with torch.no_grad():
        outs, refs = ours(xs), stock(xs)
    assert len(outs) == len(refs) == kwargs.get('num_outs', 5)
    for out, ref in zip(outs, refs):
        assert out.shape == ref.shape
        assert rel_error(out, ref) < 1e-6


def test_hrfpn_with_cp_matches_stock_gradients():
    ours, stock = hrfpn_pair()
    ours.with_cp = stock.with_cp = True
    ours.train()
    stock.train()
    xo = [x.requires_grad_() for x in branches(W18, 16, 16)]
    xs = [x.detach().clone().requires_grad_() for x in xo]
    sum(o.square().sum() for o in ours(xo)).backward()
    with warnings.catch_warnings():  # stock's use_reentrant warning
        warnings.simplefilter('ignore')
        sum(o.square().sum() for o in stock(xs)).backward()
    for u, v in zip(xo, xs):
        assert rel_error(u.grad, v.grad) < 1e-5
    w = 'reduction_conv.conv.weight'
    assert rel_error(ours.get_parameter(w).grad,
                     stock.get_parameter(w).grad) < 1e-5


def test_hrfpn_odd_sizes_where_stock_fails(small_hrnet):
    """Unpadded odd sizes: stock upsamples branch i by 2**i and cannot
    concatenate (13x17 -> 26x34 against 25x33); ours resizes to branch 0
    exactly."""
    with torch.no_grad():
        feats = small_hrnet(torch.randn(1, 3, 99, 131))
    assert [tuple(f.shape[2:]) for f in feats] == [(25, 33), (13, 17),
                                                    (7, 9), (4, 5)]
    ours = HRFPN(SMALL, 16).eval()
    stock = StockHRFPN(SMALL, 16).eval()
    with torch.no_grad():
        outs = ours(feats)
        with pytest.raises(RuntimeError, match='Sizes of tensors must match'):
            stock(feats)
    assert [tuple(o.shape) for o in outs] == [(1, 16, 25, 33),
                                              (1, 16, 12, 16),
                                              (1, 16, 6, 8), (1, 16, 3, 4),
                                              (1, 16, 1, 2)]


def test_hrfpn_returns_default_layout_for_channels_last_inputs():
    """Detection heads get NCHW-contiguous levels (mmcv's CPU RoIAlign
    misreads channels_last memory), with the same values."""
    ours, _ = hrfpn_pair()
    xs = branches(W18, 16, 24)
    with torch.no_grad():
        outs = ours([x.contiguous(memory_format=torch.channels_last)
                     for x in xs])
        refs = ours(xs)
    for out, ref in zip(outs, refs):
        assert out.is_contiguous()
        assert rel_error(out, ref) < 1e-5


def test_hrfpn_norm_cfg_is_applied():
    """Stock accepts norm_cfg and ignores it; ours builds the norms."""
    ours = HRFPN(W18, 32, norm_cfg=dict(type='BN'))
    stock = StockHRFPN(W18, 32, norm_cfg=dict(type='BN'))
    assert not any(isinstance(m, torch.nn.BatchNorm2d)
                   for m in stock.modules())
    norms = [m for m in ours.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 1 + 5
    assert ours.reduction_conv.conv.bias is None  # the norm has the bias


def test_hrfpn_rejects_unknown_pooling():
    with pytest.raises(ValueError, match="pooling_type='max' is not one of"):
        HRFPN(W18, 32, pooling_type='max')


# --------------------------------------------------------------------------
# classification neck
# --------------------------------------------------------------------------
@pytest.mark.parametrize('size', [(64, 64), (67, 45)])
def test_cls_neck_shapes(small_hrnet, size):
    neck = HRNetClsNeck(SMALL).eval()
    with torch.no_grad():
        feats = small_hrnet(torch.randn(2, 3, *size))
        (vec, ) = neck(feats)
        (fmap, ) = HRNetClsNeck(SMALL, global_pool=False).eval()(feats)
    assert vec.shape == (2, 2048)
    assert fmap.shape == (2, 2048) + tuple(feats[3].shape[2:])
    widths = [layer[0].conv3.out_channels for layer in neck.increase_layers]
    assert widths == [128, 256, 512, 1024]


def test_cls_neck_rejects_mismatched_incre_channels():
    with pytest.raises(ValueError, match='one incre_channels entry per'):
        HRNetClsNeck(W18, incre_channels=(32, 64, 128))


def test_hrnet_classifier_learns():
    """backbone + classification neck + linear head (an mmpretrain-style
    ImageClassifier): every parameter gets a gradient, and a few steps on a
    fixed batch lower the loss."""
    torch.manual_seed(0)
    model = torch.nn.ModuleDict(
        dict(
            backbone=HRNet(arch='w18_small_v1'),
            neck=HRNetClsNeck(SMALL, incre_channels=(8, 16, 32, 64),
                              out_channels=64),
            head=torch.nn.Linear(64, 3)))
    model.backbone.init_weights()
    model.neck.init_weights()
    x = torch.randn(6, 3, 32, 32)
    y = torch.tensor([0, 1, 2, 0, 1, 2])

    def loss_fn():
        (vec, ) = model['neck'](model['backbone'](x))
        return F.cross_entropy(model['head'](vec), y)

    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(6):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        if not losses:
            no_grad = [n for n, p in model.named_parameters()
                       if p.grad is None or not p.grad.abs().sum() > 0]
            assert not no_grad, no_grad
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


# --------------------------------------------------------------------------
# registry: usable from mmseg and mmdet configs
# --------------------------------------------------------------------------
@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
@pytest.mark.parametrize('name', ['HRNetV1Neck', 'HRNetV2Neck', 'HRFPN',
                                  'HRNetClsNeck'])
def test_built_through_stock_registries(scope, name):
    from mmengine.registry import init_default_scope
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    init_default_scope(scope)
    cfg = dict(type=f'hrseg_plugin.{name}', in_channels=SMALL)
    if name == 'HRFPN':
        cfg['out_channels'] = 16
    neck = registry.build(cfg)
    assert type(neck).__module__.startswith('hrseg_plugin.models.necks')
    assert isinstance(neck(branches(SMALL, 16, 16)), tuple)
