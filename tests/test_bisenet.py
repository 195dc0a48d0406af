"""BiSeNet: backbone (spatial + context path on several context backbones),
FFM decode head, build-time validation, the configs, and a few training
iterations of the demo config through tools/train.py."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import hrseg_plugin  # noqa: F401  (registers the modules)
from hrseg_plugin.registry import MODELS
from e2e import read_scalars, run_tool

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BN = dict(type='BN', requires_grad=True)

torch.set_num_threads(2)

# small context backbones: widths (1/16, 1/32)
RESNET18_NARROW = dict(
    type='ResNet', depth=18, stem_channels=16, base_channels=16,
    out_indices=(0, 1, 2, 3), norm_cfg=BN)
CONTEXT_BACKBONES = {
    'resnet18': (RESNET18_NARROW, (64, 128)),
    'resnetv1c18': (dict(RESNET18_NARROW, type='ResNetV1c'), (64, 128)),
    'hrnet_w18_small': (dict(type='hrseg_plugin.HRNet', arch='w18_small_v1',
                             norm_cfg=BN), (64, 128)),
    'xception39': (dict(type='hrseg_plugin.Xception39', norm_cfg=BN),
                   (128, 256)),
    'mmdet_resnet18': (dict(RESNET18_NARROW, type='mmdet.ResNet'),
                       (64, 128)),
}


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def build_backbone(context, **kwargs):
    cfg = dict(type='hrseg_plugin.BiSeNet', backbone_cfg=context,
               context_channels=32, norm_cfg=BN)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def ceil_div(x, d):
    return -(-x // d)


@pytest.mark.parametrize('name', sorted(CONTEXT_BACKBONES))
@pytest.mark.parametrize('hw', [(64, 128), (67, 93)])
def test_backbone_shapes(name, hw):
    """Three outputs, the first two at 1/8, the third at 1/16, for any
    context backbone and odd input sizes."""
    context, widths = CONTEXT_BACKBONES[name]
    model = build_backbone(context).eval()
    expected_index = (1, 2) if name == 'xception39' else (2, 3)
    assert model.context_path.in_index == expected_index
    assert model.context_path.arm16.conv_layer.conv.in_channels == widths[0]
    assert model.context_path.arm32.conv_layer.conv.in_channels == widths[1]
    h, w = hw
    with torch.no_grad():
        spatial, c16, c32 = model(torch.randn(2, 3, h, w))
    h8, w8 = ceil_div(h, 8), ceil_div(w, 8)
    assert spatial.shape == (2, 256, h8, w8)  # 'paper' variant: 64, 128, 256
    assert c16.shape == (2, 32, h8, w8)
    assert c32.shape == (2, 32, ceil_div(h8, 2), ceil_div(w8, 2))


def test_context_backbone_keeps_its_pretrained_init(tmp_path):
    """``init_weights`` reaches the context backbone's own ``init_cfg``."""
    from helpers import randomize_
    ref = randomize_(MODELS.build(RESNET18_NARROW), seed=1)
    torch.save(ref.state_dict(), tmp_path / 'r18.pth')
    model = build_backbone(
        dict(RESNET18_NARROW,
             init_cfg=dict(type='Pretrained',
                           checkpoint=str(tmp_path / 'r18.pth'))))
    model.init_weights()
    for key, value in ref.state_dict().items():
        assert torch.equal(model.context_path.backbone.state_dict()[key],
                           value), key


def test_spatial_path_variants():
    paper = build_backbone(RESNET18_NARROW).spatial_path
    assert [m.conv.kernel_size[0] for m in paper] == [3, 3, 3]
    assert [m.conv.stride[0] for m in paper] == [2, 2, 2]
    cc = build_backbone(RESNET18_NARROW, spatial_variant='coincheung',
                        spatial_channels=(8, 8, 8, 16)).spatial_path
    assert [name for name, _ in cc.named_children()] == [
        'layer1', 'layer2', 'layer3', 'layer4']
    assert [m.conv.kernel_size[0] for m in cc] == [7, 3, 3, 1]
    assert [m.conv.out_channels for m in cc] == [8, 8, 8, 16]
    assert cc(torch.randn(1, 3, 41, 77)).shape == (1, 16, 6, 10)


@pytest.mark.parametrize('kwargs, words', [
    (dict(spatial_variant='fast'), ['spatial_variant', "'fast'", 'paper']),
    (dict(spatial_variant='coincheung', spatial_channels=(64, 128)),
     ['spatial_channels', '4 entries']),
    (dict(context_channels=(128, 256, 512)), ['context_channels']),
    (dict(backbone_cfg=dict(RESNET18_NARROW, out_indices=(0, 1))),
     ['backbone_cfg', 'out_indices', '[4, 8]', '1/16']),
    (dict(backbone_cfg=dict(RESNET18_NARROW, out_indices=(0, 1, 2))),
     ['backbone_cfg', '[4, 8, 16]', '1/32']),
    # a dilated ResNet (d8) has no 1/16 or 1/32 feature
    (dict(backbone_cfg=dict(RESNET18_NARROW, strides=(1, 2, 1, 1),
                            dilations=(1, 1, 2, 4))),
     ['backbone_cfg', '[4, 8, 8, 8]']),
    (dict(upsample_cfg=dict(mode='area')), ["upsample_cfg['mode']"]),
])
def test_config_errors_at_build_time(kwargs, words):
    with pytest.raises(ValueError) as err:
        build_backbone(kwargs.pop('backbone_cfg', RESNET18_NARROW), **kwargs)
    for word in words:
        assert word in str(err.value)


def ffm_head(**kwargs):
    cfg = dict(type='hrseg_plugin.FFMHead', in_channels=[16, 32],
               channels=24, num_classes=5, norm_cfg=BN)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_ffm_head_errors():
    with pytest.raises(ValueError, match='in_index'):
        ffm_head(in_index=(0, 1, 2), in_channels=[16, 32, 8])
    with pytest.raises(ValueError, match='reduction'):
        ffm_head(attention_cfg=dict(reduction=0))


def test_ffm_head_computation():
    """fusion conv -> feat * sigmoid(attention) + feat -> convs -> conv_seg,
    recomputed by hand, for the attention of each reference."""
    sp, cp = torch.randn(2, 16, 9, 11), torch.randn(2, 32, 9, 11)
    for attention_cfg, widths in ((None, [24 // 4, 24]),
                                  (dict(reduction=1), [24, 24]),
                                  (dict(reduction=None, norm_cfg=BN,
                                        act_before_sigmoid=True), [24])):
        head = ffm_head(attention_cfg=attention_cfg).eval()
        convs = head.attention.convs
        assert [m.conv.out_channels for m in convs] == widths
        assert all(m.conv.bias is None for m in convs)
        with torch.no_grad():
            out = head([sp, cp, torch.zeros(1)])
            feat = head.fusion_conv(torch.cat([sp, cp], 1))
            att = feat.mean((2, 3), keepdim=True)
            for i, m in enumerate(convs):
                att = m.conv(att)
                if m.with_norm:
                    att = m.bn(att)
                if i < len(convs) - 1 or attention_cfg and attention_cfg.get(
                        'act_before_sigmoid'):
                    att = att.relu()
            ref = head.conv_seg(head.convs(feat * att.sigmoid() + feat))
        assert out.shape == (2, 5, 9, 11)
        torch.testing.assert_close(out, ref)


def test_pixel_shuffle_heads():
    head = ffm_head(pixel_shuffle_factor=8)
    assert head.conv_seg.weight.shape == (5 * 64, 24, 1, 1)
    out = head([torch.randn(1, 16, 3, 5), torch.randn(1, 32, 3, 5)])
    assert out.shape == (1, 5, 24, 40)
    aux = MODELS.build(
        dict(type='hrseg_plugin.PixelShuffleFCNHead', pixel_shuffle_factor=16,
             in_channels=32, channels=8, num_convs=1, num_classes=3,
             in_index=1, concat_input=False, norm_cfg=BN))
    assert aux([None, torch.randn(1, 32, 2, 3)]).shape == (1, 3, 32, 48)


def test_xception39_layout():
    model = MODELS.build(dict(type='hrseg_plugin.Xception39'))
    assert [len(getattr(model, f'layer{i}')) for i in (1, 2, 3)] == [4, 8, 4]
    outs = model(torch.randn(1, 3, 65, 97))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 9, 13), (1, 128, 5, 7),
                                              (1, 256, 3, 4)]
    block = model.layer2[0]
    assert block.proj is not None and model.layer2[1].proj is None
    # depthwise convs have neither norm nor bias; pointwise ones have BN
    dw = block.residual_branch[0].depthwise_conv
    assert dw.conv.groups == 64 and not dw.with_norm and dw.conv.bias is None
    assert block.residual_branch[0].pointwise_conv.with_norm
    # ~0.3M parameters (from the layout: 16 blocks of separable convs)
    n = sum(p.numel() for p in model.parameters())
    assert 0.25e6 < n < 0.35e6, n


# --------------------------------------------------------------------------
# the configs
# --------------------------------------------------------------------------
def build_config(name, **options):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    cfg.merge_from_dict(options)
    assert cfg.custom_imports == dict(imports=['hrseg_plugin'],
                                      allow_failed_imports=False)
    assert cfg.default_scope == 'mmseg'
    return MODELS.build(cfg.model)


def seg_samples(n, h, w, num_classes=19):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(n):
        s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                        pad_shape=(h, w)))
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, h, w)))
        samples.append(s)
    return samples


@pytest.mark.slow
@pytest.mark.parametrize('name', ['demo/bisenet_r18.py',
                                  'bisenet_xception39.py'])
def test_config_train_and_predict_odd_size(name):
    """Loss (main + two auxiliary) and backward, and full-size predictions,
    at an odd input size (the R-18 model of configs/bisenet_r18.py is the
    demo's at twice the width; its predictions at an odd size are checked
    against stock mmseg in test_convert_bisenet.py)."""
    model = build_config(name)
    assert type(model.backbone).__name__ == 'BiSeNet'
    assert type(model.decode_head).__name__ == 'FFMHead'
    assert len(model.auxiliary_head) == 2
    h, w = 45, 71
    x = torch.randn(2, 3, h, w)
    model.train()
    losses = model.loss(x, seg_samples(2, h, w))
    assert set(losses) >= {'decode.loss_ce', 'aux_0.loss_ce', 'aux_1.loss_ce'}
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert model.backbone.spatial_path.layer1.conv.weight.grad is not None
    model.eval()
    with torch.no_grad():
        logits = model.encode_decode(x, [dict(img_shape=(h, w))])
    assert logits.shape == (2, 19, h, w)
    assert torch.isfinite(logits).all()


@pytest.mark.slow
def test_real_config_widths():
    """The R-101 and Xception39 configs (built, not run: R-101 is big)."""
    r101 = build_config(
        'bisenet_r101.py',
        **{'model.backbone.backbone_cfg.init_cfg': None})
    cp = r101.backbone.context_path
    assert type(cp.backbone).__name__ == 'ResNetV1c' and cp.backbone.depth \
        == 101
    assert cp.arm16.conv_layer.conv.in_channels == 1024
    assert cp.arm32.conv_layer.conv.in_channels == 2048
    assert r101.decode_head.fusion_conv.conv.in_channels == 1024
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'bisenet_r101.py'))
    assert cfg.model.backbone.backbone_cfg.init_cfg.checkpoint == \
        'open-mmlab://resnet101_v1c'
    x39 = build_config('bisenet_xception39.py')
    assert type(x39.backbone.context_path.backbone).__name__ == 'Xception39'
    assert x39.backbone.context_path.upsample == dict(mode='bilinear',
                                                      align_corners=True)


# --------------------------------------------------------------------------
# training the demo config
# --------------------------------------------------------------------------
ITERS = 12


@pytest.mark.slow
def test_demo_config_trains(demo_data, tmp_path):
    """A few iterations of configs/demo/bisenet_r18.py through
    tools/train.py on generated demo data: finite, falling loss, with the
    two auxiliary losses logged."""
    root = demo_data / 'cityscapes'
    proc = run_tool(
        'train', 'configs/demo/bisenet_r18.py', '--work-dir', tmp_path,
        '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'train_cfg.max_iters={ITERS}', 'train_cfg.val_interval=1000',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={ITERS}',
        # no warm-up: the demo's 20-iteration warm-up outlasts this run
        'param_scheduler.0.start_factor=1.0',
        timeout=600)
    assert 'SyncBatchNorm' in proc.stdout + proc.stderr  # reverted to BN
    (records, ) = read_scalars(tmp_path)
    assert [r['step'] for r in records] == list(range(1, ITERS + 1))
    for key in ('decode.loss_ce', 'aux_0.loss_ce', 'aux_1.loss_ce'):
        assert all(key in r for r in records), records[0]
    losses = [r['loss'] for r in records]
    assert all(math.isfinite(x) for x in losses)
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.9 * first, losses
    assert osp.isfile(tmp_path / f'iter_{ITERS}.pth')
