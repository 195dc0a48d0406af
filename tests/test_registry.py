"""Every route a user takes to our modules finds them, with no name clash."""
import pytest
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope, init_default_scope

import hrseg_plugin
from hrseg_plugin.models.backbones import HRNet
from hrseg_plugin.models.decode_heads import OCRHead


def test_found_from_mmseg_registry():
    from mmseg.models.backbones import HRNet as StockHRNet
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    ours = MODELS.build(dict(type='hrseg_plugin.HRNet', arch='w18_small_v1'))
    assert type(ours) is HRNet
    stock = MODELS.build(
        dict(type='HRNet', extra=HRNet.arch_settings['w18_small_v1']))
    assert type(stock) is StockHRNet  # the plain name is still stock's
    assert MODELS.get('hrseg_plugin.OCRHead') is OCRHead
    assert MODELS.get('OCRHead') is not OCRHead


def test_found_from_mmdet_registry():
    from mmdet.models.backbones import HRNet as StockHRNet
    from mmdet.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        ours = MODELS.build(dict(type='hrseg_plugin.HRNet', arch='w18'))
        stock = MODELS.build(
            dict(type='HRNet', extra=HRNet.arch_settings['w18']))
    assert type(ours) is HRNet and type(stock) is StockHRNet


def test_found_from_root_registry_and_mmcv_builders():
    from mmcv.cnn import build_plugin_layer
    assert ROOT_MODELS.get('hrseg_plugin.HRNet') is HRNet
    # mmcv's plugin builder looks up the same root registry
    name, layer = build_plugin_layer(
        dict(type='hrseg_plugin.HRNet', arch='w18_small_v1'), postfix=1)
    assert type(layer) is HRNet and name.endswith('1')
    with pytest.raises(KeyError):
        build_plugin_layer(dict(type='hrseg_plugin.NoSuchBlock'))


def test_custom_imports_from_a_stock_config(tmp_path):
    """A stock mmseg config + custom_imports builds our backbone."""
    from mmengine.config import Config
    from mmseg.registry import MODELS
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(
        "_base_ = 'mmseg::ocrnet/ocrnet_hr18_4xb2-40k_cityscapes-512x1024.py'"
        "\ncustom_imports = dict(imports=['hrseg_plugin'], "
        'allow_failed_imports=False)\n'
        "model = dict(pretrained=None, backbone=dict(type='hrseg_plugin."
        "HRNet', _delete_=True, arch='w18'))\n")
    cfg = Config.fromfile(str(cfg_file))
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    assert type(model.backbone) is HRNet


def test_package_exports():
    assert hrseg_plugin.MODELS.scope == 'hrseg_plugin'
    assert hrseg_plugin.METRICS.get('PerClassIoUMetric') is not None
