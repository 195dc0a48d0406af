"""Our OCR head and HRNet-OCR model against stock mmseg's, same weights."""
import copy

import pytest
import torch
from helpers import randomize_, rel_error, stock_config
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.models.decode_heads import OCRHead as StockOCRHead
from mmseg.registry import MODELS as MMSEG_MODELS

from hrseg_plugin.models.decode_heads import OCRHead

torch.set_num_threads(2)


def _head_cfg(channels):
    return dict(
        in_channels=channels,
        in_index=(0, 1, 2, 3),
        input_transform='resize_concat',
        channels=64,
        ocr_channels=32,
        num_classes=7,
        norm_cfg=dict(type='BN'),
        align_corners=False)


@pytest.mark.parametrize('channels', [[18, 36, 72, 144], [48, 96, 192, 384]])
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_ocr_head_matches_stock(channels, channels_last, mode):
    """Same outputs and gradients as stock's head, though ours runs the
    out-projection over the object vectors (and, in eval, folds the
    BatchNorms into the convs), in either memory format; the output keeps
    the input's format."""
    cfg = dict(_head_cfg(channels), dropout_ratio=0)  # no random drops
    stock = randomize_(StockOCRHead(**cfg))
    ours = OCRHead(**cfg)
    ours.load_state_dict(stock.state_dict(), strict=True)
    stock.train(mode == 'train')
    ours.train(mode == 'train')
    gen = torch.Generator().manual_seed(0)
    feats = [
        torch.randn(2, c, 24 // 2**i, 40 // 2**i, generator=gen)
        for i, c in enumerate(channels)
    ]
    # peaked coarse scores: each object gathers its own few pixels (flat
    # ones give K near-equal objects, and train-mode BN over those few
    # near-equal vectors amplifies float rounding a thousandfold)
    prev = 4 * torch.randn(2, 7, 24, 40, generator=gen)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    out = ours([f.contiguous(memory_format=fmt) for f in feats],
               prev.contiguous(memory_format=fmt))
    ref = stock(feats, prev)
    assert out.shape == ref.shape == (2, 7, 24, 40)
    assert out.is_contiguous(memory_format=fmt)
    assert rel_error(out, ref) < 1e-5
    # gradients: against stock in float64, as train-mode BatchNorm's
    # backward cancels enough in float32 that stock's own float32 gradients
    # stray ~1e-3 from float64; ours must stray no more (a wrong gradient
    # is off by order 1)
    weights = torch.randn(ref.shape, generator=gen)
    stock64 = copy.deepcopy(stock).double()
    ref64 = stock64([f.double() for f in feats], prev.double())
    for model, y in ((ours, out), (stock, ref), (stock64, ref64)):
        (y * weights.to(y.dtype)).sum().backward()
    grads64 = dict(stock64.named_parameters())
    stock_grads = dict(stock.named_parameters())
    for name, p in ours.named_parameters():
        exact = grads64[name].grad
        stock_err = rel_error(stock_grads[name].grad.double(), exact)
        assert rel_error(p.grad.double(), exact) < max(3 * stock_err,
                                                       1e-3), name


def test_ocr_head_gradients_reach_every_parameter():
    head = OCRHead(**_head_cfg([8, 16, 32, 64]))
    feats = [torch.randn(2, c, 16 // 2**i, 16 // 2**i)
             for i, c in enumerate([8, 16, 32, 64])]
    head(feats, torch.randn(2, 7, 16, 16)).sum().backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('ours_cfg,stock_cfg', [
    ('configs/hrnet_w18_ocr.py',
     'ocrnet/ocrnet_hr18_4xb2-80k_cityscapes-512x1024.py'),
    ('configs/hrnet_ocr.py',
     'ocrnet/ocrnet_hr48_4xb2-80k_cityscapes-512x1024.py'),
])
def test_full_model_from_config_matches_stock(repo_root, ours_cfg, stock_cfg):
    """Our config and the stock one build models with the same keys, and
    with the same weights they give the same logits."""
    init_default_scope('mmseg')
    import hrseg_plugin  # noqa: F401  (what custom_imports does)
    cfg = Config.fromfile(f'{repo_root}/{ours_cfg}')
    ref_cfg = Config.fromfile(stock_config('mmseg', stock_cfg))
    ref_cfg.model.pretrained = None
    stock = randomize_(MMSEG_MODELS.build(ref_cfg.model)).eval()
    ours = MMSEG_MODELS.build(cfg.model).eval()
    assert type(ours.backbone).__module__.startswith('hrseg_plugin')
    assert type(ours.decode_head[1]).__module__.startswith('hrseg_plugin')
    ours.load_state_dict(stock.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        out, ref = ours._forward(x), stock._forward(x)
    assert out.shape == (1, 19, 16, 32)
    assert rel_error(out, ref) < 1e-4


@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_ocr_head_with_group_norm_matches_stock(mode):
    """The rearranged attention holds for any norm: GroupNorm is not an
    affine map in eval mode, so it stays after the attention."""
    cfg = dict(_head_cfg([8, 16, 32, 64]), dropout_ratio=0,
               norm_cfg=dict(type='GN', num_groups=4))
    stock = randomize_(StockOCRHead(**cfg)).train(mode == 'train')
    ours = OCRHead(**cfg).train(mode == 'train')
    ours.load_state_dict(stock.state_dict(), strict=True)
    gen = torch.Generator().manual_seed(0)
    feats = [torch.randn(2, c, 16 // 2**i, 24 // 2**i, generator=gen)
             for i, c in enumerate([8, 16, 32, 64])]
    prev = 4 * torch.randn(2, 7, 16, 24, generator=gen)
    with torch.no_grad():
        assert rel_error(ours(feats, prev), stock(feats, prev)) < 1e-5
