"""SKConv, SPM, MPM and the strip pooling head: shapes, gradients, the
papers' formulas against independent NumPy references (and one case worked
by hand), insertion into stock mmseg/mmdet ResNets and our HRNet, and the
configs that use them."""
import copy
import math
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
from helpers import randomize_
from mmcv.cnn import build_conv_layer, build_plugin_layer
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmseg.models.backbones import ResNet as StockResNet
from mmseg.models.backbones import ResNetV1c

from hrseg_plugin.models.backbones import HRNet
from hrseg_plugin.models.decode_heads import StripPoolingHead
from hrseg_plugin.models.layers import MPM, SPM, PluginBasicBlock, SKConv
from hrseg_plugin.models.speedups import folding_pairs

torch.set_num_threads(2)
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BN0 = dict(type='BN', eps=0.0)  # exact affine norm in eval mode


# --------------------------------------------------------------------------
# NumPy references (loops over kernel taps and pooling bins; no torch ops)
# --------------------------------------------------------------------------
def np_conv(x, w, b=None, dilation=1, groups=1):
    """Stride-1 conv of x (C, H, W) by w (O, C/groups, kh, kw), padded by
    dilation * (k // 2) (size-keeping)."""
    c_per_group, kh, kw = w.shape[1:]
    ph, pw = dilation * (kh // 2), dilation * (kw // 2)
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    _, h, wd = x.shape
    out = np.zeros((w.shape[0], h, wd))
    o_per_group = w.shape[0] // groups
    for o in range(w.shape[0]):
        g = o // o_per_group
        for c in range(c_per_group):
            for i in range(kh):
                for j in range(kw):
                    y0, x0 = i * dilation, j * dilation
                    out[o] += w[o, c, i, j] * xp[g * c_per_group + c,
                                                 y0:y0 + h, x0:x0 + wd]
    if b is not None:
        out += b[:, None, None]
    return out


def np_norm(x, bn):
    """An eval-mode BatchNorm as its affine map."""
    g = lambda t: t.detach().double().numpy()[:, None, None]  # noqa: E731
    return (x - g(bn.running_mean)) / np.sqrt(g(bn.running_var) + bn.eps) \
        * g(bn.weight) + g(bn.bias)


def np_conv_module(x, cm, relu, dilation=1, groups=1):
    """conv + norm (+ ReLU) of a ConvModule, from its weights."""
    w = cm.conv.weight.detach().double().numpy()
    y = np_norm(np_conv(x, w, dilation=dilation, groups=groups), cm.norm)
    return np.maximum(y, 0) if relu else y


def np_adaptive_avg_pool(x, size):
    _, h, w = x.shape
    out = np.zeros((x.shape[0], size, size))
    for i in range(size):
        h0, h1 = (i * h) // size, -((-(i + 1) * h) // size)
        for j in range(size):
            w0, w1 = (j * w) // size, -((-(j + 1) * w) // size)
            out[:, i, j] = x[:, h0:h1, w0:w1].mean(axis=(1, 2))
    return out


def np_bilinear_align_corners(x, h, w):
    _, hi, wi = x.shape
    out = np.zeros((x.shape[0], h, w))
    for y in range(h):
        sy = y * (hi - 1) / (h - 1) if h > 1 else 0.0
        y0 = int(math.floor(sy))
        y1, fy = min(y0 + 1, hi - 1), sy - y0
        for xx in range(w):
            sx = xx * (wi - 1) / (w - 1) if w > 1 else 0.0
            x0 = int(math.floor(sx))
            x1, fx = min(x0 + 1, wi - 1), sx - x0
            out[:, y, xx] = ((1 - fy) * (1 - fx) * x[:, y0, x0] +
                             (1 - fy) * fx * x[:, y0, x1] +
                             fy * (1 - fx) * x[:, y1, x0] +
                             fy * fx * x[:, y1, x1])
    return out


def np_mpm(x, m):
    """SPNet's StripPooling (the MPM) on x (C, H, W) with m's weights."""
    relu = lambda t: np.maximum(t, 0)  # noqa: E731
    _, h, w = x.shape
    p = np_conv_module(x, m.reduce_pool, relu=True)
    s = np_conv_module(x, m.reduce_strip, relu=True)
    # pyramid branch: full-resolution 3x3, then each pooled size
    pooled = np_conv_module(p, m.pool_convs[0], relu=False)
    for conv, size in zip(m.pool_convs[1:], m.pool_sizes):
        small = np_conv_module(np_adaptive_avg_pool(p, size), conv, False)
        pooled = pooled + np_bilinear_align_corners(small, h, w)
    # strip branch: 1 x W strip with a 1x3 conv, H x 1 strip with a 3x1
    row = np_conv_module(s.mean(axis=1, keepdims=True), m.strip_conv_w,
                         False)
    col = np_conv_module(s.mean(axis=2, keepdims=True), m.strip_conv_h,
                         False)
    strips = np.broadcast_to(row, s.shape) + np.broadcast_to(col, s.shape)
    a = np_conv_module(relu(pooled), m.fuse_pool, relu=True)
    b = np_conv_module(relu(strips), m.fuse_strip, relu=True)
    out = np_conv_module(np.concatenate([a, b]), m.project, relu=False)
    return relu(x + out)


def np_skconv(x, m, dilation=1, stride=1):
    """Selective kernel convolution on x (C, H, W) with m's weights."""
    feats = [
        np_conv_module(x, branch, True, dilation=dilation * (k + 1),
                       groups=branch.conv.groups)[:, ::stride, ::stride]
        for k, branch in enumerate(m.branches)
    ]
    s = sum(feats).mean(axis=(1, 2))[:, None, None]  # global pooling
    z = np_conv_module(s, m.fuse, relu=True)
    a = np_conv(z, m.select.weight.detach().double().numpy())
    a = a.reshape(len(feats), -1)
    a = np.exp(a - a.max(axis=0)) / np.exp(a - a.max(axis=0)).sum(axis=0)
    return sum(a[k][:, None, None] * f for k, f in enumerate(feats))


def _to_np(t):
    return t.detach().double().numpy()


# --------------------------------------------------------------------------
# SPM
# --------------------------------------------------------------------------
def test_spm_hand_computed():
    """One channel, a 2x2 input, weights chosen by hand:

    x = [[1, 2], [3, 4]]; row means (H x 1) [1.5, 3.5]; column means (1 x W)
    [2, 3]. 3x1 conv [0.5, 1, 0] (zero padded) on the rows: [1.5, 0.75 +
    3.5] = [1.5, 4.25]. 1x3 conv [0, 1, -2] on the columns: [2 - 6, 3] =
    [-4, 3]. Expanded sum [[-2.5, 4.5], [0.25, 7.25]], ReLU [[0, 4.5],
    [0.25, 7.25]], 1x1 conv weight 1 bias -4: [[-4, 0.5], [-3.75, 3.25]],
    sigmoid, times x."""
    spm = SPM(1, norm_cfg=BN0).eval()
    with torch.no_grad():
        spm.conv_h.conv.weight.copy_(torch.tensor([0.5, 1, 0]).view(1, 1, 3,
                                                                     1))
        spm.conv_w.conv.weight.copy_(torch.tensor([0., 1, -2]).view(1, 1, 1,
                                                                     3))
        spm.gate.weight.fill_(1)
        spm.gate.bias.fill_(-4)
        out = spm(torch.tensor([[1., 2], [3, 4]]).view(1, 1, 2, 2))
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    expected = [1 * sig(-4), 2 * sig(0.5), 3 * sig(-3.75), 4 * sig(3.25)]
    assert out.flatten().tolist() == pytest.approx(expected, abs=1e-6)


def test_spm_matches_reference_random_weights():
    spm = randomize_(SPM(6, mid_channels=4)).eval()
    x = torch.randn(1, 6, 5, 7)
    xn = _to_np(x[0])
    rows = np_conv_module(xn.mean(axis=2, keepdims=True), spm.conv_h, False)
    cols = np_conv_module(xn.mean(axis=1, keepdims=True), spm.conv_w, False)
    gate = np_conv(np.maximum(rows + cols, 0), _to_np(spm.gate.weight),
                   _to_np(spm.gate.bias))
    expected = xn / (1 + np.exp(-gate))
    with torch.no_grad():
        out = spm(x)
    np.testing.assert_allclose(_to_np(out[0]), expected, rtol=1e-4,
                               atol=1e-5)


# --------------------------------------------------------------------------
# MPM
# --------------------------------------------------------------------------
@pytest.mark.parametrize('size,pool_sizes', [((7, 9), (3, 2)),
                                             ((4, 5), (6, 1))])
def test_mpm_matches_spnet_formulation(size, pool_sizes):
    """Pooled sizes below and above the input size."""
    mpm = randomize_(MPM(8, pool_sizes=pool_sizes)).eval()
    x = torch.randn(1, 8, *size)
    with torch.no_grad():
        out = mpm(x)
    np.testing.assert_allclose(_to_np(out[0]), np_mpm(_to_np(x[0]), mpm),
                               rtol=1e-4, atol=1e-5)


def test_mpm_layout_is_spnet():
    mpm = MPM(64)
    assert mpm.reduce_pool.conv.out_channels == 16  # in_channels // 4
    assert mpm.pool_sizes == (20, 12)
    assert mpm.strip_conv_w.conv.kernel_size == (1, 3)
    assert mpm.strip_conv_h.conv.kernel_size == (3, 1)
    assert mpm.project.conv.in_channels == 32
    assert mpm.project.conv.out_channels == 64
    assert mpm.align_corners is True


# --------------------------------------------------------------------------
# SKConv
# --------------------------------------------------------------------------
@pytest.mark.parametrize('stride,dilation,branches', [(1, 1, 2), (2, 1, 2),
                                                      (2, 2, 3)])
def test_skconv_matches_reference(stride, dilation, branches):
    sk = randomize_(
        SKConv(8, 8, 3, stride, dilation, dilation, groups=4,
               num_branches=branches, reduction=2, min_channels=3)).eval()
    assert [b.conv.dilation for b in sk.branches] == [
        (dilation * (k + 1), ) * 2 for k in range(branches)
    ]
    assert sk.fuse.conv.out_channels == 4  # max(8 // 2, 3)
    x = torch.randn(1, 8, 11, 13)
    with torch.no_grad():
        out = sk(x)
    np.testing.assert_allclose(
        _to_np(out[0]), np_skconv(_to_np(x[0]), sk, dilation, stride),
        rtol=1e-4, atol=1e-5)


def test_skconv_paper_defaults():
    sk = SKConv(256)
    assert len(sk.branches) == 2
    assert [b.conv.dilation for b in sk.branches] == [(1, 1), (2, 2)]
    assert sk.branches[0].conv.groups == 32
    assert sk.fuse.conv.out_channels == 32  # max(256 / 16, L=32)
    assert SKConv(1024).fuse.conv.out_channels == 64  # 1024 / 16
    assert sk.select.out_channels == 2 * 256


@pytest.mark.parametrize('in_ch,out_ch,k,stride,expect_sk', [
    (8, 8, 3, 1, True),
    (8, 8, 3, 2, True),
    (8, 8, 1, 1, False),
    (3, 8, 3, 2, False),
    (8, 16, 3, 1, False),
])
def test_skconv_as_conv_cfg(in_ch, out_ch, k, stride, expect_sk):
    """build_conv_layer with the signature backbones use; the convs SKConv
    does not replace are the plain Conv2d asked for."""
    init_default_scope('mmseg')
    layer = build_conv_layer(
        dict(type='hrseg_plugin.SKConv', groups=4),
        in_ch,
        out_ch,
        kernel_size=k,
        stride=stride,
        padding=k // 2,
        dilation=1,
        bias=False)
    assert isinstance(layer, SKConv) is expect_sk
    ref = nn.Conv2d(in_ch, out_ch, k, stride, k // 2, bias=False)
    if not expect_sk:
        assert type(layer) is nn.Conv2d
        assert layer.weight.shape == ref.weight.shape
        assert layer.bias is None and layer.padding == ref.padding
    x = torch.randn(2, in_ch, 9, 11)
    assert layer(x).shape == ref(x).shape


def test_skconv_errors_and_copies():
    with pytest.raises(ValueError, match='groups=32 must divide'):
        SKConv(48)
    with pytest.raises(ValueError, match='padding=0'):
        SKConv(8, 8, 3, padding=0, groups=4)
    sk = SKConv(8, groups=4)
    for clone in (copy.deepcopy(sk), pickle.loads(pickle.dumps(sk))):
        assert isinstance(clone, SKConv)
        x = torch.randn(2, 8, 5, 5)
        sk.eval(), clone.eval()
        assert torch.equal(clone(x), sk(x))


# --------------------------------------------------------------------------
# every block: shapes on odd sizes, gradients
# --------------------------------------------------------------------------
BLOCKS = {
    'SKConv': lambda c: SKConv(c, groups=4),
    'SKConv_stride2': lambda c: SKConv(c, c, 3, 2, 1, 1, groups=4),
    'SPM': lambda c: SPM(c),
    'MPM': lambda c: MPM(c),
}


@pytest.mark.parametrize('name', list(BLOCKS))
@pytest.mark.parametrize('size', [(13, 17), (1, 9), (6, 1), (25, 3)])
def test_block_shapes_odd_sizes(name, size):
    block = BLOCKS[name](8)
    x = torch.randn(2, 8, *size)
    out = block(x)
    stride = 2 if name.endswith('stride2') else 1
    assert out.shape == (2, 8, (size[0] - 1) // stride + 1,
                         (size[1] - 1) // stride + 1)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_block_gradients_flow(name):
    torch.manual_seed(0)
    block = BLOCKS[name](8)
    x = torch.randn(2, 8, 11, 9, requires_grad=True)
    out = block(x)
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for pname, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize('cls,name', [(SKConv, 'sk_conv'), (SPM, 'spm'),
                                      (MPM, 'mpm')])
def test_build_plugin_layer_names(cls, name):
    init_default_scope('mmseg')
    cfg = dict(type=f'hrseg_plugin.{cls.__name__}')
    if cls is SKConv:
        cfg['groups'] = 8
    built_name, layer = build_plugin_layer(cfg, in_channels=16, postfix=2)
    assert built_name == f'{name}2' and isinstance(layer, cls)


# --------------------------------------------------------------------------
# in stock mmseg / mmdet ResNets
# --------------------------------------------------------------------------
def _resnet_cfg(type_, **kwargs):
    cfg = dict(
        type=type_, depth=50, base_channels=8, out_indices=(0, 1, 2, 3))
    if type_ == 'ResNetV1c':
        cfg['stem_channels'] = 16
    cfg.update(kwargs)
    return cfg


PLUGINS = [
    dict(cfg=dict(type='hrseg_plugin.SPM'), stages=(False, True, True, True),
         position='after_conv2'),
    dict(cfg=dict(type='hrseg_plugin.MPM', pool_sizes=(4, 2)),
         stages=(False, False, False, True), position='after_conv3'),
    dict(cfg=dict(type='hrseg_plugin.SKConv', groups=8),
         stages=(True, True, False, False), position='after_conv1'),
]


@pytest.mark.parametrize('scope,type_', [('mmseg', 'ResNetV1c'),
                                         ('mmseg', 'ResNet'),
                                         ('mmdet', 'ResNet'),
                                         ('mmdet', 'ResNetV1d')])
def test_plugins_in_stock_resnets(scope, type_):
    init_default_scope(scope)
    plain = MODELS.build(_resnet_cfg(type_))
    ours = MODELS.build(_resnet_cfg(type_, plugins=PLUGINS))
    plain.eval(), ours.eval()  # stock train() returns None: no chaining
    layers = [getattr(ours, f'layer{i}') for i in (1, 2, 3, 4)]
    assert all(hasattr(b, 'spm') for b in layers[3]) and not any(
        hasattr(b, 'spm') for b in layers[0])
    assert all(isinstance(b.mpm, MPM) for b in layers[3])
    assert all(isinstance(b.sk_conv, SKConv) for b in layers[1])
    # plugins add modules, they rename none: stock weights still load
    missing, unexpected = ours.load_state_dict(plain.state_dict(), False)
    assert not unexpected
    assert missing and all(
        k.split('.')[2] in ('spm', 'mpm', 'sk_conv') for k in missing)
    x = torch.randn(1, 3, 45, 61)
    with torch.no_grad():
        outs, refs = ours(x), plain(x)
    assert [o.shape for o in outs] == [r.shape for r in refs]


def test_skconv_replaces_bottleneck_conv2_through_dcn_slot():
    """ResNet's dcn slot builds conv2 of the Bottlenecks of the chosen stages
    with build_conv_layer: SKConv there and nowhere else, strided too."""
    init_default_scope('mmseg')
    model = MODELS.build(
        _resnet_cfg(
            'ResNetV1c',
            dcn=dict(type='hrseg_plugin.SKConv', groups=8),
            stage_with_dcn=(False, True, True, True)))
    model.eval()
    sks = [n for n, m in model.named_modules() if isinstance(m, SKConv)]
    assert sks and all(n.endswith('.conv2') for n in sks)
    assert len(sks) == 4 + 6 + 3
    assert not isinstance(model.layer1[0].conv2, SKConv)
    assert model.layer2[0].conv2.branches[0].conv.stride == (2, 2)
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 45, 61))
    assert [o.shape[2:] for o in outs] == [(12, 16), (6, 8), (3, 4), (2, 2)]


def test_skconv_as_conv_cfg_of_resnet_keeps_other_convs_plain():
    init_default_scope('mmseg')
    cfg = _resnet_cfg('ResNetV1c')
    plain = MODELS.build(cfg)
    model = MODELS.build(
        dict(cfg, conv_cfg=dict(type='hrseg_plugin.SKConv', groups=8)))
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d) and '.branches.' not in name and \
                not name.endswith(('.fuse.conv', '.select')):
            assert m.kernel_size != (3, 3) or \
                m.in_channels != m.out_channels, name
    assert isinstance(model.stem[3], SKConv)  # the deep stem's 3x3 8->8
    assert all(isinstance(b.conv2, SKConv) for b in model.layer3)
    # every plain conv keeps its stock name and shape
    ours = model.state_dict()
    for k, v in plain.state_dict().items():
        if not (k.endswith('conv2.weight') or k == 'stem.3.weight'):
            assert ours[k].shape == v.shape, k


# --------------------------------------------------------------------------
# in our HRNet
# --------------------------------------------------------------------------
HR_PLUGINS = [
    dict(cfg=dict(type='hrseg_plugin.SPM'), stages=(False, True, True, True),
         position='after_conv1'),
    dict(cfg=dict(type='hrseg_plugin.MPM', pool_sizes=(3, 2)),
         stages=(True, False, False, False), position='after_conv3'),
    dict(cfg=dict(type='hrseg_plugin.SKConv', groups=8),
         stages=(True, True, True, True), position='after_conv2'),
]


def test_hrnet_plugins_in_basic_and_bottleneck_blocks():
    plain = HRNet(arch='w18_small_v1').eval()
    ours = HRNet(arch='w18_small_v1', plugins=HR_PLUGINS).eval()
    assert isinstance(ours.layer1[0].mpm, MPM)
    assert isinstance(ours.layer1[0].sk_conv, SKConv)
    assert not hasattr(ours.layer1[0], 'spm')
    for k in (2, 3, 4):
        for branch in getattr(ours, f'stage{k}')[0].branches:
            for block in branch:
                assert isinstance(block, PluginBasicBlock)
                assert isinstance(block.spm, SPM)
                assert isinstance(block.sk_conv, SKConv)
    missing, unexpected = ours.load_state_dict(plain.state_dict(), False)
    assert not unexpected
    assert missing and all(
        any(p in k for p in ('.spm.', '.mpm.', '.sk_conv.')) for k in missing)
    x = torch.randn(1, 3, 45, 61)
    with torch.no_grad():
        outs, refs = ours(x), plain(x)
    assert [o.shape for o in outs] == [r.shape for r in refs]
    # without plugins: stock BasicBlocks (or plugin blocks without plugin
    # layers)
    assert all(not any(b.plugin_names.values())
               for b in plain.modules() if isinstance(b, PluginBasicBlock))


def test_plugin_basic_block_without_plugins_is_stock():
    from mmseg.models.backbones.resnet import BasicBlock
    stock = randomize_(BasicBlock(8, 8)).eval()
    ours = PluginBasicBlock(8, 8, plugins=[]).eval()
    ours.load_state_dict(stock.state_dict(), strict=True)
    x = torch.randn(2, 8, 7, 9)
    with torch.no_grad():
        assert torch.allclose(ours(x), stock(x), atol=1e-6)


def test_plugin_basic_block_runs_plugins_in_order():
    block = PluginBasicBlock(
        8, 8,
        plugins=[
            dict(cfg=dict(type='hrseg_plugin.SPM', postfix=1),
                 position='after_conv1'),
            dict(cfg=dict(type='hrseg_plugin.SPM', postfix=2),
                 position='after_conv1'),
        ]).eval()
    seen = []
    block.spm1.register_forward_hook(lambda m, i, o: seen.append((1, o)))
    block.spm2.register_forward_hook(lambda m, i, o: seen.append((2, i[0])))
    with torch.no_grad():
        block(torch.randn(1, 8, 5, 5))
    assert [s[0] for s in seen] == [1, 2]
    assert torch.equal(seen[0][1], seen[1][1])  # spm2 takes spm1's output


@pytest.mark.parametrize('plugins,message', [
    ([dict(cfg=dict(type='hrseg_plugin.SPM'), stages=(False, True, False,
                                                      False),
           position='after_conv3')],
     r"'after_conv3' is not supported by the BASIC blocks of stage 2; use "
     r"one of \('after_conv1', 'after_conv2'\)"),
    ([dict(cfg=dict(type='hrseg_plugin.SPM'), position='before_conv1')],
     r"'before_conv1' is not supported by the BOTTLENECK blocks of stage 1; "
     r"use one of \('after_conv1', 'after_conv2', 'after_conv3'\)"),
    ([dict(cfg=dict(type='hrseg_plugin.SPM'), stages=(True, True),
           position='after_conv1')], 'must have 4 entries'),
])
def test_hrnet_bad_plugins_are_named(plugins, message):
    with pytest.raises(ValueError, match=message):
        HRNet(arch='w18_small_v1', plugins=plugins)


def test_hrnet_skconv_conv_cfg():
    """SKConv as HRNet's conv_cfg: SK for the width-keeping 3x3 convs, the
    stock layout elsewhere."""
    plain = HRNet(arch='w18_small_v1')
    model = HRNet(
        arch='w18_small_v1',
        conv_cfg=dict(type='hrseg_plugin.SKConv', groups=2)).eval()
    assert type(model.conv1) is nn.Conv2d and isinstance(model.conv2, SKConv)
    assert isinstance(model.layer1[0].conv2, SKConv)
    assert type(model.layer1[0].conv1) is nn.Conv2d
    block = model.stage4[0].branches[3][1]
    assert isinstance(block.conv1, SKConv) and isinstance(block.conv2, SKConv)
    assert type(model.transition1[0][0]) is nn.Conv2d  # 128 -> 16
    ours = model.state_dict()
    kept = [k for k in plain.state_dict() if k in ours]
    assert 'transition1.0.0.weight' in kept and 'conv1.weight' in kept
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 45, 61))
    assert [o.shape[1:] for o in outs] == [(16, 12, 16), (32, 6, 8),
                                           (64, 3, 4), (128, 2, 2)]


# --------------------------------------------------------------------------
# the head
# --------------------------------------------------------------------------
def test_strip_pooling_head():
    head = StripPoolingHead(
        in_channels=32,
        in_index=1,
        channels=8,
        num_classes=5,
        dropout_ratio=0.1,
        pool_sizes=(4, 2),
        norm_cfg=dict(type='BN'))
    assert len(head.mpms) == 2
    assert head.reduce.conv.out_channels == 16  # in_channels // 2
    assert head.bottleneck.conv.kernel_size == (3, 3)
    assert head.conv_seg.in_channels == 8
    feats = [torch.randn(2, 16, 26, 34), torch.randn(2, 32, 13, 17)]
    out = head(feats)
    assert out.shape == (2, 5, 13, 17)
    out.sum().backward()
    assert head.mpms[1].project.conv.weight.grad.abs().sum() > 0

    plain = StripPoolingHead(in_channels=32, channels=8, num_classes=5,
                             num_mpms=0, norm_cfg=dict(type='BN'))
    assert len(plain.mpms) == 0 and plain([feats[1]]).shape == (2, 5, 13, 17)


# --------------------------------------------------------------------------
# configs
# --------------------------------------------------------------------------
def _build(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert cfg.custom_imports == dict(
        imports=['hrseg_plugin'], allow_failed_imports=False)
    init_default_scope(cfg.default_scope)
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('config,depth', [('configs/spnet_r50.py', 50),
                                          ('configs/spnet_r101.py', 101),
                                          ('configs/demo/spnet_r50.py', 50)])
def test_spnet_configs(config, depth):
    model = _build(config)
    # stock's ResNetV1c (hrseg_plugin.WithSpeedups: conv + BN pairs folded
    # in eval)
    assert type(model.backbone) is ResNetV1c
    assert folding_pairs(model.backbone)
    assert isinstance(model.backbone, StockResNet)
    assert model.backbone.deep_stem and not model.backbone.avg_down
    assert model.backbone.depth == depth
    spms = [n for n, m in model.named_modules() if isinstance(m, SPM)]
    assert len(spms) == 3 and all(
        n.startswith('backbone.layer4.') for n in spms)
    assert isinstance(model.decode_head, StripPoolingHead)
    assert len(model.decode_head.mpms) == 2


@pytest.mark.parametrize('config', ['configs/hrnet_w18_skconv_ocr.py',
                                    'configs/demo/hrnet_w18_skconv_ocr.py'])
def test_hrnet_skconv_configs(config):
    model = _build(config)
    sks = [m for m in model.backbone.modules() if isinstance(m, SKConv)]
    assert len(sks) > 20
    assert all(sk.branches[0].conv.groups == 2 for sk in sks)


# --------------------------------------------------------------------------
# demo configs train (tools/train.py, a subprocess, the shared demo data of
# conftest.py) and the loss falls
# --------------------------------------------------------------------------
TRAIN_ITERS = 8


@pytest.mark.slow
@pytest.mark.parametrize('config', ['configs/demo/spnet_r50.py',
                                    'configs/demo/hrnet_w18_skconv_ocr.py'])
def test_demo_config_trains(config, demo_data, tmp_path):
    from e2e import (NO_WORKERS, assert_loss_falls, cityscapes_roots, run,
                     train_losses)
    options = [
        *cityscapes_roots(demo_data), *NO_WORKERS,
        'train_dataloader.batch_size=2',
        f'train_cfg.max_iters={TRAIN_ITERS}',
        f'train_cfg.val_begin={TRAIN_ITERS + 1}',  # no validation
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={TRAIN_ITERS + 1}',
        # 64x64 crops of the 128x256 scenes, no warm-up: a short CPU run
        'train_dataloader.dataset.pipeline.2.scale=(128,64)',
        'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
        'model.data_preprocessor.size=(64,64)',
        'param_scheduler.0.start_factor=1.0',
    ]
    run(['tools/train.py', config, '--work-dir', tmp_path, '--cfg-options',
         *options], timeout=600)
    assert len(list(tmp_path.glob('*/vis_data/scalars.json'))) == 1
    assert_loss_falls(train_losses(tmp_path), TRAIN_ITERS, 0.95)


def test_demo_spnet_ablation_options_build():
    """The README's without-the-blocks runs: the same config with
    ``--cfg-options model.backbone.plugins=None model.decode_head.num_mpms=0``
    (a conv head of the same width)."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs/demo/spnet_r50.py'))
    cfg.merge_from_dict({
        'model.backbone.plugins': None,
        'model.decode_head.num_mpms': 0
    })
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    assert not any(isinstance(m, (SPM, MPM)) for m in model.modules())
    assert isinstance(model.decode_head, StripPoolingHead)
