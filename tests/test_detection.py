"""HRNetV2p detection: our HRNet + HRFPN against stock mmdet's (feature maps,
and whole detectors after ``--from mmdet`` conversion), the converter's
and the converter's refusals. The demo configs through the tools:
tests/test_demo_detection.py."""
import copy
import glob
import os.path as osp
from pathlib import Path

import pytest
import torch
from helpers import randomize_, rel_error, stock_config
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

from hrseg_plugin.converters import ConversionError, convert_checkpoint
from hrseg_plugin.converters import cli as convert_tool
from hrseg_plugin.models.backbones import HRNet
from hrseg_plugin.models.backbones.hrnet_arch import ARCH_SETTINGS
from hrseg_plugin.models.necks import HRFPN
from hrseg_plugin.models.speedups import eval_folding


REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(str(REPO / 'configs' / '*_hrnetv2p_w*.py')))
# checked output for output against stock (cascade_rcnn: its heads are
# those of cascade_mask_rcnn)
EQUIVALENCE_CONFIGS = [
    f'configs/{name}_hrnetv2p_w18.py'
    for name in ('faster_rcnn', 'mask_rcnn', 'cascade_mask_rcnn', 'fcos')
]
# the stock mmdet config each of ours is, with our backbone and neck: the
# W18 configs inherit it, the wider ones inherit our W18 config and change
# the widths (as stock's wider configs are its W18 ones at another width)
STOCK_TWINS = {
    'faster_rcnn_hrnetv2p_w18': 'faster-rcnn_hrnetv2p-w18-1x_coco.py',
    'faster_rcnn_hrnetv2p_w32': 'faster-rcnn_hrnetv2p-w32-1x_coco.py',
    'faster_rcnn_hrnetv2p_w40': 'faster-rcnn_hrnetv2p-w40-1x_coco.py',
    'mask_rcnn_hrnetv2p_w18': 'mask-rcnn_hrnetv2p-w18-1x_coco.py',
    'mask_rcnn_hrnetv2p_w32': 'mask-rcnn_hrnetv2p-w32-1x_coco.py',
    'mask_rcnn_hrnetv2p_w40': 'mask-rcnn_hrnetv2p-w40_1x_coco.py',
    'cascade_rcnn_hrnetv2p_w18': 'cascade-rcnn_hrnetv2p-w18-20e_coco.py',
    'cascade_rcnn_hrnetv2p_w32': 'cascade-rcnn_hrnetv2p-w32-20e_coco.py',
    'cascade_rcnn_hrnetv2p_w40': 'cascade-rcnn_hrnetv2p-w40-20e_coco.py',
    'cascade_mask_rcnn_hrnetv2p_w18':
    'cascade-mask-rcnn_hrnetv2p-w18_20e_coco.py',
    'cascade_mask_rcnn_hrnetv2p_w32':
    'cascade-mask-rcnn_hrnetv2p-w32_20e_coco.py',
    'cascade_mask_rcnn_hrnetv2p_w40':
    'cascade-mask-rcnn_hrnetv2p-w40-20e_coco.py',
    'fcos_hrnetv2p_w18': 'fcos_hrnetv2p-w18-gn-head_4xb4-1x_coco.py',
    'fcos_hrnetv2p_w32': 'fcos_hrnetv2p-w32-gn-head_4xb4-1x_coco.py',
    'fcos_hrnetv2p_w40':
    'fcos_hrnetv2p-w40-gn-head_ms-640-800-4xb4-2x_coco.py',
}


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """One torch thread: these models are small, and with other processes
    on the 2 cores a second thread spin-waits (measured: a W18 Faster R-CNN
    prediction takes 0.2 s of CPU on 1 thread, up to 4 s on 2)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def stock_counterpart(config: str) -> str:
    """The stock mmdet config ours is (``STOCK_TWINS``)."""
    return stock_config('mmdet', 'hrnet/' + STOCK_TWINS[Path(config).stem])


def build_detector(config: str, **backbone):
    """The detector of a config, no pretrained init, in eval mode; the 30
    top detections kept whatever their score (random weights score low), of
    100 proposals / candidates (not 1000: NMS of 1000 x 80 boxes and mask
    heads on 100 boxes per cascade stage are slow on a CPU). ``backbone``:
    overrides of the backbone config."""
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    cfg.model.backbone.update(init_cfg=None, **backbone)
    test_cfg = cfg.model.test_cfg
    if 'rpn' in test_cfg:
        test_cfg.rpn.update(nms_pre=200, max_per_img=100)
    else:
        test_cfg.nms_pre = 100
    final = test_cfg.get('rcnn', test_cfg)
    final.update(score_thr=0.0, max_per_img=30)
    init_default_scope('mmdet')
    return MODELS.build(cfg.model).eval()


@torch.no_grad()
def randomize_detector_(model, img: torch.Tensor, seed=0):
    """Random weights and random BN statistics of a sane scale.

    ``randomize_`` alone draws BN statistics that do not normalise: through
    HRNet's residual sums the features grow to ~1e4 and every proposal of
    the random RPN degenerates (no detection left to compare). Here one
    forward pass of ``img`` sets the statistics of every BN, in order, to
    those of its actual input with a random shift of the mean and a random
    factor on the variance: random, and any swapped or dropped statistic
    still changes the outputs, but the activations stay O(1)."""
    randomize_(model, seed)
    gen = torch.Generator().manual_seed(seed + 1)

    def set_stats(bn, args):
        x = args[0].transpose(0, 1).flatten(1)
        mean, var = x.mean(1), x.var(1)
        noise = torch.randn(mean.shape, generator=gen)
        bn.running_mean.copy_(mean + 0.2 * var.sqrt() * noise)
        bn.running_var.copy_(var * (torch.rand(var.shape, generator=gen) +
                                    0.5))

    hooks = [
        m.register_forward_pre_hook(set_stats) for m in model.modules()
        if isinstance(m, _BatchNorm)
    ]
    try:
        data = model.data_preprocessor(
            dict(inputs=[img.permute(2, 0, 1).contiguous()]), False)
        model.eval().extract_feat(data['inputs'])
    finally:
        for h in hooks:
            h.remove()
    return model


def predict(model, img: torch.Tensor):
    """``model.test_step`` on one (H, W, 3) uint8 image; its
    ``pred_instances``."""
    from mmdet.structures import DetDataSample
    h, w = img.shape[:2]
    sample = DetDataSample(
        metainfo=dict(
            img_id=0, img_shape=(h, w), ori_shape=(h, w),
            scale_factor=(1.0, 1.0)))
    data = dict(inputs=[img.permute(2, 0, 1).contiguous()],
                data_samples=[sample])
    with torch.no_grad():
        return model.test_step(data)[0].pred_instances


def random_image(h, w, seed=0):
    gen = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (h, w, 3), generator=gen, dtype=torch.uint8)
    # a few flat rectangles give the detector something to find
    for k in range(4):
        y, x = (torch.randint(0, s // 2, (1, ), generator=gen).item()
                for s in (h, w))
        img[y:y + h // 3, x:x + w // 3] = 40 * (k + 2)
    return img


# --------------------------------------------------------------------------
# feature maps: stock mmdet HRNet + HRFPN against ours
# --------------------------------------------------------------------------
@pytest.mark.parametrize('arch', ['w18'])
def test_backbone_and_neck_features_match_stock_mmdet(arch):
    from mmdet.models.backbones import HRNet as StockHRNet
    from mmdet.models.necks import HRFPN as StockHRFPN
    channels = [c for c in ARCH_SETTINGS[arch]['stage4']['num_channels']]
    stock = torch.nn.Sequential(
        StockHRNet(extra=copy.deepcopy(ARCH_SETTINGS[arch])),
        StockHRFPN(channels, 64))
    ours = torch.nn.Sequential(
        HRNet(arch=arch, upsample_cfg=dict(mode='nearest'), norm_eval=True),
        HRFPN(channels, 64))
    randomize_(stock)
    ours.load_state_dict(stock.state_dict(), strict=True)
    stock[0].eval()  # stock's train() returns None: no chaining
    stock[1].eval()
    ours.eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        outs, refs = ours(x), stock(x)
    assert len(outs) == len(refs) == 5
    for out, ref in zip(outs, refs):
        assert out.shape == ref.shape
        assert rel_error(out, ref) < 1e-5


# --------------------------------------------------------------------------
# whole detectors after conversion
# --------------------------------------------------------------------------
def convert_stock_detector(config, img, tmp_path, **backbone):
    """Build the stock counterpart of ``config`` with random weights and
    random BN statistics, save it as an mmdet checkpoint, convert it with
    ``--from mmdet`` and load it strictly into ours (``backbone``: overrides
    of our backbone config). Returns (ours, stock, conversion meta)."""
    stock = randomize_detector_(
        build_detector(stock_counterpart(config)), img)
    ours = build_detector(str(REPO / config), **backbone)
    src = tmp_path / 'stock.pth'
    torch.save(
        dict(state_dict=stock.state_dict(),
             meta=dict(dataset_meta=dict(classes=('a', 'b')))), src)
    loaded = torch.load(src, map_location='cpu', weights_only=True)
    result = convert_checkpoint('mmdet', loaded)
    ours.load_state_dict(result.state_dict, strict=True)
    return ours, stock, result.meta


@pytest.mark.slow
@pytest.mark.parametrize('config', EQUIVALENCE_CONFIGS)
def test_detector_matches_stock_after_conversion(config, tmp_path):
    """Same boxes, scores, labels (and masks) as the stock detector.

    Our HRNet runs ``channels_last`` by default; here it runs in stock's
    layout, so that both compute the same float operations: a random-weight
    detector turns the ~1e-5 rounding difference of the other layout into
    different top-k / NMS picks among its many near-equal scores. For the
    same reason the eval-mode conv + BatchNorm folding is off here. The
    default layout is compared op for op in the next test."""
    img = random_image(64, 96)
    ours, stock, meta = convert_stock_detector(
        config, img, tmp_path, channels_last=False)
    assert meta['dataset_meta'] == dict(classes=('a', 'b'))
    assert meta['recognised']['backbone']['widths'] == [18, 36, 72, 144]
    assert meta['recognised']['neck']['in_channels'] == 270
    with eval_folding(False):
        got = predict(ours, img)
    ref = predict(stock, img)
    assert len(ref) > 10, 'too few detections to compare'
    assert len(got) == len(ref)
    assert torch.equal(got.labels, ref.labels)
    assert rel_error(got.bboxes, ref.bboxes) < 1e-4
    assert rel_error(got.scores, ref.scores) < 1e-4
    if 'masks' in ref:
        assert got.masks.shape == ref.masks.shape == (len(ref), 64, 96)
        assert ref.masks.any()
        # binary masks: allow a pixel or two flipped at the threshold
        assert (got.masks != ref.masks).float().mean() < 1e-4


@pytest.mark.slow
def test_channels_last_detector_matches_stock_roi_heads(tmp_path):
    """Our default (``channels_last``) HRNet in Mask R-CNN: the pyramid, and
    the box and mask head outputs for the same RoIs, equal stock's to float
    rounding. (mmcv's CPU RoIAlign reads NCHW memory: fed channels_last
    levels it returns wrong values, a relative error near 1.)"""
    from mmdet.structures.bbox import bbox2roi
    img = random_image(64, 96)
    ours, stock, _ = convert_stock_detector(
        'configs/mask_rcnn_hrnetv2p_w18.py', img, tmp_path)
    assert ours.backbone.channels_last
    gen = torch.Generator().manual_seed(0)
    corner = torch.rand(50, 2, generator=gen) * torch.tensor([80., 50.])
    size = torch.rand(50, 2, generator=gen) * 40 + 4
    rois = bbox2roi([torch.cat([corner, corner + size], 1)])
    x = stock.data_preprocessor(
        dict(inputs=[img.permute(2, 0, 1).contiguous()]), False)['inputs']
    with torch.no_grad():
        feats = [m.extract_feat(x) for m in (ours, stock)]
        for out, ref in zip(*feats):
            assert rel_error(out, ref) < 1e-3
        heads = []
        for model, feat in zip((ours, stock), feats):
            rh = model.roi_head
            cls, reg = rh.bbox_head(rh.bbox_roi_extractor(feat[:4], rois))
            mask = rh.mask_head(rh.mask_roi_extractor(feat[:4], rois))
            heads.append((cls, reg, mask))
    for out, ref in zip(*heads):
        assert rel_error(out, ref) < 1e-3


def plain(obj):
    """A config value as plain Python: dicts without mmengine's ``_scope_``
    (added to every dict of an ``mmdet::`` base), tuples as lists."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


@pytest.mark.parametrize('config', CONFIGS)
def test_config_is_stock_with_our_backbone_and_neck(config):
    """Every HRNetV2p config is its stock counterpart (data, schedule,
    runtime, detector) with only the backbone and neck swapped for ours,
    built as stock builds them; the W18 models are checked output for output
    below, and the same code builds every width."""
    ours = plain(Config.fromfile(str(REPO / config)).to_dict())
    stock = plain(Config.fromfile(stock_counterpart(config)).to_dict())
    assert ours.pop('custom_imports') == dict(
        imports=['hrseg_plugin'], allow_failed_imports=False)
    assert ours['default_scope'] == 'mmdet'
    # the benchmark's pointer to the stock twin (configs that have one)
    base = 'mmdet::hrnet/' + STOCK_TWINS[Path(config).stem]
    assert ours.pop('stock_equivalent', None) in (None, base)
    # our reliability hooks: crash-safe checkpoints (stock's arguments),
    # stop at the first NaN/Inf loss
    checkpoint_hook = ours['default_hooks'].pop('checkpoint')
    assert checkpoint_hook == dict(
        stock['default_hooks'].pop('checkpoint'),
        type='hrseg_plugin.AtomicCheckpointHook')
    assert ours.pop('custom_hooks') == [
        dict(type='hrseg_plugin.NonFiniteLossHook')]
    assert 'custom_hooks' not in stock
    # the parts shared by the detection configs
    # (configs/_base_/models/hrnetv2p_w18_detection.py), as variables
    assert ours.pop('hrnet_backbone')['arch'] == 'w18'
    assert ours.pop('hrfpn_neck') == dict(type='hrseg_plugin.HRFPN')
    model, stock_model = ours.pop('model'), stock.pop('model')
    assert ours == stock
    backbone, stock_backbone = model.pop('backbone'), stock_model.pop(
        'backbone')
    neck, stock_neck = model.pop('neck'), stock_model.pop('neck')
    assert model == stock_model
    assert backbone == dict(
        type='hrseg_plugin.HRNet', arch=backbone['arch'], norm_eval=True,
        upsample_cfg=dict(mode='nearest'),
        # the same checkpoint, loaded with the key / shape check
        init_cfg=dict(stock_backbone['init_cfg'],
                      type='hrseg_plugin.CheckedPretrained'))
    assert plain(ARCH_SETTINGS[backbone['arch']]) == stock_backbone['extra']
    assert stock_backbone['type'] == 'HRNet'
    assert set(stock_backbone) == {'type', 'extra', 'init_cfg'}
    assert neck.pop('type') == 'hrseg_plugin.HRFPN'
    assert stock_neck.pop('type') == 'HRFPN'
    assert neck == stock_neck


# --------------------------------------------------------------------------
# the converter: command line and refusals
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def stock_faster_state_dict():
    config = 'configs/faster_rcnn_hrnetv2p_w18.py'
    return randomize_detector_(
        build_detector(stock_counterpart(config)),
        random_image(64, 64)).state_dict()


@pytest.mark.slow
def test_convert_weights_cli(stock_faster_state_dict, tmp_path, capsys):
    src, dst = tmp_path / 'in.pth', tmp_path / 'out.pth'
    torch.save(dict(state_dict=stock_faster_state_dict), src)
    rc = convert_tool.main([
        '--from', 'mmdet', str(src), str(dst), '--config',
        str(REPO / 'configs/faster_rcnn_hrnetv2p_w18.py'), '--no-progress'
    ])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert 'checked against' in out
    assert "upsample_cfg': {'mode': 'nearest'}" in out  # reproduce_with
    saved = torch.load(dst, map_location='cpu', weights_only=False)
    assert saved['meta']['origin'] == 'mmdet'
    assert saved['state_dict'].keys() == stock_faster_state_dict.keys()
    for k, v in saved['state_dict'].items():
        assert torch.equal(v, stock_faster_state_dict[k]), k

    # a W18 checkpoint does not fit the W32 model: refused, nothing written
    dst32 = tmp_path / 'out32.pth'
    rc = convert_tool.main([
        '--from', 'mmdet', str(src), str(dst32), '--config',
        str(REPO / 'configs/faster_rcnn_hrnetv2p_w32.py'), '--no-progress'
    ])
    err = capsys.readouterr().err
    assert rc == 2
    assert 'shape-mismatched keys' in err and 'backbone.stage2' in err
    assert not dst32.exists()


def _refusal(sd):
    with pytest.raises(ConversionError) as info:
        convert_checkpoint('mmdet', dict(state_dict=sd))
    return str(info.value)


def test_converter_refuses_segmentor(stock_faster_state_dict):
    sd = dict(stock_faster_state_dict)
    sd['decode_head.conv_seg.weight'] = torch.zeros(19, 270, 1, 1)
    msg = _refusal(sd)
    assert 'decode_head.conv_seg.weight' in msg
    assert 'use --from mmseg' in msg


def test_converter_refuses_missing_and_misshaped_neck_keys(
        stock_faster_state_dict):
    sd = dict(stock_faster_state_dict)
    del sd['neck.fpn_convs.2.conv.bias']
    sd['neck.fpn_convs.1.conv.weight'] = torch.zeros(256, 256, 1, 1)
    msg = _refusal(sd)
    assert 'missing keys (1)' in msg and 'neck.fpn_convs.2.conv.bias' in msg
    assert ('neck.fpn_convs.1.conv.weight: got (256, 256, 1, 1), expected '
            '(256, 256, 3, 3)') in msg


def test_converter_refuses_neck_of_another_backbone(stock_faster_state_dict):
    sd = dict(stock_faster_state_dict)
    sd['neck.reduction_conv.conv.weight'] = torch.zeros(256, 480, 1, 1)
    msg = _refusal(sd)
    assert 'takes 480 channels' in msg and 'concatenates 270' in msg


def test_converter_copies_other_detectors_unchanged():
    """A stock detector without HRNet / HRFPN (here a ResNet RetinaNet's
    key layout) is copied as is, with no HRNet reproduce note."""
    sd = {
        'backbone.conv1.weight': torch.randn(16, 3, 7, 7),
        'neck.lateral_convs.0.conv.weight': torch.randn(32, 64, 1, 1),
        'bbox_head.retina_cls.weight': torch.randn(9, 32, 3, 3),
    }
    result = convert_checkpoint('mmdet', dict(state_dict=sd, meta={}))
    assert list(result.state_dict) == list(sd)
    assert all(result.state_dict[k] is v for k, v in sd.items())
    assert result.meta['recognised'] == {}
    assert 'reproduce_with' not in result.meta


def test_converter_refuses_truncated_backbone(stock_faster_state_dict):
    sd = dict(stock_faster_state_dict)
    del sd['backbone.stage3.1.fuse_layers.2.0.0.1.running_var']
    msg = _refusal(sd)
    assert 'backbone.stage3.1.fuse_layers.2.0.0.1.running_var' in msg
