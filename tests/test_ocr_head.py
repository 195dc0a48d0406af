"""Our OCR head and HRNet-OCR model against stock mmseg's, same weights."""
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
def test_ocr_head_matches_stock(channels):
    stock = randomize_(StockOCRHead(**_head_cfg(channels))).eval()
    ours = OCRHead(**_head_cfg(channels)).eval()
    ours.load_state_dict(stock.state_dict(), strict=True)
    feats = [
        torch.randn(2, c, 24 // 2**i, 40 // 2**i)
        for i, c in enumerate(channels)
    ]
    prev = torch.randn(2, 7, 24, 40)
    with torch.no_grad():
        out, ref = ours(feats, prev), stock(feats, prev)
    assert out.shape == ref.shape == (2, 7, 24, 40)
    assert rel_error(out, ref) < 1e-5


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
