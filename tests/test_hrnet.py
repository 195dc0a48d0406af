"""Our HRNet against stock mmseg's and mmdet's, with identical weights."""
import copy

import pytest
import torch
from helpers import randomize_, rel_error
from mmdet.models.backbones import HRNet as MMDetHRNet
from mmseg.models.backbones import HRNet as MMSegHRNet

from hrseg_plugin.models.backbones import HRNet
from hrseg_plugin.models.backbones.hrnet_arch import ARCH_SETTINGS

torch.set_num_threads(2)


def _pair(stock_cls, arch, **kwargs):
    ours = HRNet(arch=arch, **kwargs).eval()
    stock = stock_cls(extra=copy.deepcopy(ARCH_SETTINGS[arch]))
    stock.eval()  # stock's train() returns None: no chaining
    randomize_(stock)
    ours.load_state_dict(stock.state_dict(), strict=True)
    return ours, stock


@pytest.mark.parametrize('arch', ['w18', 'w48', 'w18_small_v2'])
def test_matches_stock_mmseg(arch):
    ours, stock = _pair(MMSegHRNet, arch)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        outs, refs = ours(x), stock(x)
    assert len(outs) == 4
    for out, ref in zip(outs, refs):
        assert out.shape == ref.shape
        assert rel_error(out, ref) < 1e-5


@pytest.mark.parametrize('arch', ['w18', 'w32'])
def test_matches_stock_mmdet_with_nearest_fuse(arch):
    ours, stock = _pair(
        MMDetHRNet, arch, upsample_cfg=dict(mode='nearest'))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for out, ref in zip(ours(x), stock(x)):
            assert out.shape == ref.shape
            assert rel_error(out, ref) < 1e-5


def test_stock_extra_dict_works_as_is():
    extra = copy.deepcopy(ARCH_SETTINGS['w18'])
    a, b = HRNet(extra=extra), HRNet(arch='w18')
    assert [k for k in a.state_dict()] == [k for k in b.state_dict()]


@pytest.mark.slow
@pytest.mark.parametrize('arch,channels', [
    ('w18_small_v1', (16, 32, 64, 128)),
    ('w18_small_v2', (18, 36, 72, 144)),
    ('w30', (30, 60, 120, 240)),
    ('w40', (40, 80, 160, 320)),
    ('w44', (44, 88, 176, 352)),
    ('w64', (64, 128, 256, 512)),
])
@pytest.mark.parametrize('transition_mode', ['last', 'all'])
def test_every_preset_odd_sizes(arch, channels, transition_mode):
    model = HRNet(arch=arch, transition_mode=transition_mode).eval()
    x = torch.randn(1, 3, 67, 45)
    with torch.no_grad():
        outs = model(x)
    assert model.out_channels == list(channels)
    h, w = 67, 45
    for i, out in enumerate(outs):
        h, w = (h + 1) // 2, (w + 1) // 2
        if i == 0:  # stride 4 for the first branch
            h, w = (h + 1) // 2, (w + 1) // 2
        assert out.shape == (1, channels[i], h, w)
        assert torch.isfinite(out).all()


def test_odd_sizes_every_upsample_mode():
    x = torch.randn(1, 3, 33, 51)
    for cfg in (dict(mode='nearest'), dict(mode='bilinear', align_corners=True),
                dict(mode='bicubic', align_corners=False)):
        outs = HRNet(arch='w18_small_v1', upsample_cfg=cfg).eval()(x)
        assert outs[0].shape == (1, 16, 9, 13)


def test_transition_all_builds_from_every_branch():
    model = HRNet(arch='w18_small_v1', transition_mode='all')
    # the new 4th branch has one downsampling chain per previous branch,
    # with 3, 2 and 1 stride-2 convs
    chains = model.transition3[3]
    assert [len(c) for c in chains] == [3, 2, 1]
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    sum(o.sum() for o in model(x)).backward()
    for chain in chains:
        assert chain[0][0].weight.grad is not None
        assert chain[0][0].weight.grad.abs().sum() > 0


def test_single_scale_output():
    model = HRNet(arch='w18_small_v1', multiscale_output=False).eval()
    outs = model(torch.randn(1, 3, 64, 64))
    assert len(outs) == 1 and outs[0].shape == (1, 16, 16, 16)


def test_with_cp_same_output_and_gradients():
    torch.manual_seed(0)
    a = HRNet(arch='w18_small_v1')
    b = HRNet(arch='w18_small_v1', with_cp=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 64, 64)
    ya, yb = a(x), b(x)
    for u, v in zip(ya, yb):
        assert rel_error(v, u) < 1e-6
    sum(o.sum() for o in ya).backward()
    sum(o.sum() for o in yb).backward()
    assert rel_error(b.conv1.weight.grad, a.conv1.weight.grad) < 1e-5


def test_frozen_stages_and_norm_eval():
    model = HRNet(arch='w18_small_v1', frozen_stages=2, norm_eval=True)
    model.train()
    for name, p in model.named_parameters():
        # as stock: stage k freezes with the transition after it
        frozen = name.split('.')[0] in ('conv1', 'bn1', 'conv2', 'bn2',
                                        'layer1', 'transition1', 'stage2',
                                        'transition2')
        assert p.requires_grad != frozen, name
    assert not model.stage2.training and model.stage3.training
    assert all(not m.training for m in model.modules()
               if isinstance(m, torch.nn.BatchNorm2d))


def test_zero_init_residual():
    model = HRNet(arch='w18_small_v1', zero_init_residual=True)
    model.init_weights()
    assert model.layer1[0].norm3.weight.abs().sum() == 0
    assert model.stage2[0].branches[0][0].norm2.weight.abs().sum() == 0
    plain = HRNet(arch='w18_small_v1')
    plain.init_weights()
    assert plain.layer1[0].norm3.weight.abs().sum() > 0


@pytest.mark.parametrize('kwargs,message', [
    (dict(arch='w17'), "arch='w17' is not a known preset"),
    (dict(), 'arch=None is not a known preset'),
    (dict(arch='w18', upsample_cfg=dict(mode='area')),
     "upsample_cfg['mode']='area' is not supported"),
    (dict(arch='w18', upsample_cfg=dict(mode='nearest', align_corners=True)),
     'needs an interpolating mode'),
    (dict(arch='w18', transition_mode='first'),
     "transition_mode='first' is not supported"),
    (dict(arch='w18', frozen_stages=7), 'frozen_stages must be in -1..4'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError) as err:
        HRNet(**kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize('stage,field,value,message', [
    ('stage3', 'num_blocks', (4, 4), "extra['stage3']['num_blocks']=(4, 4) "
     'has 2 entries but num_branches is 3'),
    ('stage4', 'num_channels', (18, 36, 72), "extra['stage4']['num_channels']"
     '=(18, 36, 72) has 3 entries but num_branches is 4'),
    ('stage2', 'block', 'BASICX', "extra['stage2']['block']='BASICX' is not "
     "a known block; expected one of ('BASIC', 'BOTTLENECK')"),
    ('stage2', 'num_branches', 3, "extra['stage2']['num_blocks']=(4, 4) has "
     '2 entries but num_branches is 3'),
])
def test_bad_extra_is_named(stage, field, value, message):
    extra = copy.deepcopy(ARCH_SETTINGS['w18'])
    extra[stage][field] = value
    with pytest.raises(ValueError) as err:
        HRNet(extra=extra)
    assert message in str(err.value)


def test_missing_stage_is_named():
    extra = copy.deepcopy(ARCH_SETTINGS['w18'])
    del extra['stage4']
    with pytest.raises(ValueError, match="extra has no 'stage4'"):
        HRNet(extra=extra)
