"""Property-based tests (hypothesis): random valid HRNet, BiSeNet and block
configurations on random input sizes build, return the documented output
shapes and finite values; sizes below the total stride are refused."""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hrseg_plugin  # noqa: F401  (registers)
from hrseg_plugin.models.backbones.bisenet import BiSeNet
from hrseg_plugin.models.backbones.hrnet import HRNet

SETTINGS = dict(
    max_examples=12,
    deadline=None,
    derandomize=True,  # the same examples in every CI run
    suppress_health_check=[HealthCheck.too_slow])

sizes = st.integers(min_value=32, max_value=97)


@st.composite
def hrnet_extra(draw):
    """A valid ``extra``: stage k has k branches, random blocks, depths,
    widths (small, for speed)."""
    extra = {}
    width = draw(st.sampled_from([2, 4, 6, 8]))
    for k in range(1, 5):
        n = k
        block = draw(st.sampled_from(['BASIC', 'BOTTLENECK']))
        extra[f'stage{k}'] = dict(
            num_modules=draw(st.integers(1, 2 if k > 1 else 1)),
            num_branches=n,
            block=block,
            num_blocks=tuple(draw(st.integers(1, 2)) for _ in range(n)),
            num_channels=tuple(width * 2**i * draw(st.integers(1, 2))
                               for i in range(n)))
    return extra


@pytest.mark.slow
@settings(**SETTINGS)
@given(extra=hrnet_extra(), h=sizes, w=sizes,
       transition_mode=st.sampled_from(['last', 'all']),
       upsample=st.sampled_from([None, dict(mode='nearest'),
                                 dict(mode='bilinear', align_corners=True)]),
       multiscale=st.booleans())
def test_random_hrnet(extra, h, w, transition_mode, upsample, multiscale):
    torch.manual_seed(0)
    net = HRNet(extra=extra, transition_mode=transition_mode,
                upsample_cfg=upsample, multiscale_output=multiscale).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, h, w))
    assert len(outs) == (4 if multiscale else 1)
    assert len(net.out_channels) == len(outs)
    for i, (out, c) in enumerate(zip(outs, net.out_channels)):
        assert out.shape == (2, c, math.ceil(h / 2**(i + 2)),
                             math.ceil(w / 2**(i + 2))), (i, out.shape)
        assert torch.isfinite(out).all()


@settings(**SETTINGS)
@given(extra=hrnet_extra(), h=st.integers(1, 31), w=st.integers(1, 200))
def test_random_hrnet_computes_inputs_below_the_stride(extra, h, w):
    """Issue 16: as stock mmseg, inputs smaller than the total stride are
    computed (the low branches shrink to 1x1), not refused."""
    net = HRNet(extra=extra).eval()
    for shape in ((1, 3, h, w), (1, 3, w, h)):
        with torch.no_grad():
            outs = net(torch.rand(shape))
        assert outs[0].shape[2:] == (math.ceil(shape[2] / 4),
                                     math.ceil(shape[3] / 4))
        assert all(torch.isfinite(o).all() for o in outs)


@settings(**SETTINGS)
@given(h=sizes, w=sizes,
       variant=st.sampled_from(['paper', 'coincheung']),
       base=st.sampled_from([8, 16]),
       context=st.sampled_from([8, 16, 24]),
       upsample=st.sampled_from([None, dict(mode='bilinear',
                                            align_corners=False)]),
       backbone=st.sampled_from(['ResNet', 'ResNetV1c']))
def test_random_bisenet(h, w, variant, base, context, upsample, backbone):
    torch.manual_seed(0)
    n_spatial = 3 if variant == 'paper' else 4
    spatial = tuple(base * (2 if i == n_spatial - 1 else 1)
                    for i in range(n_spatial))
    net = BiSeNet(
        backbone_cfg=dict(type=f'mmseg.{backbone}', depth=18,
                          stem_channels=base, base_channels=base,
                          out_indices=(0, 1, 2, 3)),
        spatial_variant=variant, spatial_channels=spatial,
        context_channels=context, upsample_cfg=upsample).eval()
    with torch.no_grad():
        sp, c16, c32 = net(torch.randn(2, 3, h, w))
    h8, w8 = math.ceil(h / 8), math.ceil(w / 8)
    assert sp.shape == (2, spatial[-1], h8, w8)
    assert c16.shape == (2, context, h8, w8)
    assert c32.shape[:2] == (2, context)
    # the backbone's 1/16 size (ceil with ResNet's padding; V1c's deep stem
    # rounds the same way)
    assert c32.shape[2:] == (math.ceil(h / 16), math.ceil(w / 16))
    for t in (sp, c16, c32):
        assert torch.isfinite(t).all()


def _layer(name):
    from hrseg_plugin.registry import MODELS
    return MODELS.get(name)


@settings(**SETTINGS)
@given(h=st.integers(1, 40), w=st.integers(1, 40),
       groups=st.sampled_from([1, 2, 4]),
       per_group=st.integers(1, 6),
       branches=st.integers(1, 3))
def test_random_skconv_keeps_shape(h, w, groups, per_group, branches):
    cls = _layer('SKConv')
    if cls is None:
        pytest.skip('hrseg_plugin.SKConv not registered')
    c = groups * per_group
    torch.manual_seed(0)
    m = cls(c, groups=groups, num_branches=branches, min_channels=4).eval()
    with torch.no_grad():
        out = m(torch.randn(2, c, h, w))
    assert out.shape == (2, c, h, w)
    assert torch.isfinite(out).all()


@settings(**SETTINGS)
@given(h=st.integers(2, 40), w=st.integers(2, 40),
       c=st.sampled_from([4, 8, 12]), block=st.sampled_from(['SPM', 'MPM']))
def test_random_pooling_blocks_keep_shape(h, w, c, block):
    cls = _layer(block)
    if cls is None:
        pytest.skip(f'hrseg_plugin.{block} not registered')
    torch.manual_seed(0)
    m = cls(c).eval() if block == 'SPM' else cls(c, pool_sizes=(3, 2),
                                                  reduction=2).eval()
    x = torch.randn(2, c, h, w)
    with torch.no_grad():
        out = m(x)
    assert out.shape == x.shape
    assert torch.isfinite(out).all()
