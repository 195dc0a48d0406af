"""ImageNet classification (MMPretrain 1.2.0, issue 18): our classification
configs are stock mmpretrain's HRNet configs with our backbone and neck;
mmpretrain, timm and official checkpoints convert (``--from mmpretrain``,
``--from timm``) to the same logits; ``CheckedPretrained`` initialises the
segmentation, detection and pose backbones from a converted classifier.

mmpretrain.models and timm import torchvision at module level: this process
runs with the test-only stub of ``tests/torchvision_stub.py`` (installed by
``tests/conftest.py`` where no working torchvision exists), which raises if
anything actually calls torchvision. No weights are downloaded: every model
gets random weights and random BatchNorm statistics."""
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import import_path, randomize_, stock_config
from mmengine.config import Config
from mmengine.registry import init_default_scope

import torchvision_stub
from hrseg_plugin.converters import (ConversionError,
                                     check_state_dict_against_model,
                                     convert_checkpoint)
from hrseg_plugin.models.backbones import HRNet
from hrseg_plugin.models.backbones.hrnet_arch import ARCH_SETTINGS
from hrseg_plugin.models.necks import HRNetClsNeck
from hrseg_plugin.utils import max_rel_error

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {
    'w18': 'configs/cls_hrnet_w18_in1k.py',
    'w32': 'configs/cls_hrnet_w32_in1k.py',
}
CHANNELS = {
    arch: tuple(ARCH_SETTINGS[arch]['stage4']['num_channels'])
    for arch in ARCH_SETTINGS
}


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """One torch thread (2 shared cores: a second thread spin-waits)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


#: The stock mmpretrain config each of ours is (the W18 one inherits it; the
#: W32 one inherits ours at W18 and changes the widths, as stock's does).
STOCK_TWINS = {
    'configs/cls_hrnet_w18_in1k.py': 'hrnet/hrnet-w18_4xb32_in1k.py',
    'configs/cls_hrnet_w32_in1k.py': 'hrnet/hrnet-w32_4xb32_in1k.py',
}


def stock_counterpart(config: str) -> str:
    """The stock mmpretrain config ours is (``STOCK_TWINS``)."""
    return stock_config('mmpretrain', STOCK_TWINS[config])


def build_classifier(config: str, **model):
    """The ``ImageClassifier`` of a config, in eval mode (``model``:
    overrides of the model config)."""
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config)
    cfg.model.update(model)
    init_default_scope('mmpretrain')
    return MODELS.build(cfg.model).eval()


def plain(obj):
    """A config value as plain Python: dicts without mmengine's ``_scope_``
    (added to every dict of an ``mmpretrain::`` base), tuples as lists."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def images(n, size, seed=0):
    return torch.randn(n, 3, *size, generator=torch.Generator().manual_seed(
        seed))


# --------------------------------------------------------------------------
# the configs and the neck
# --------------------------------------------------------------------------
@pytest.mark.parametrize('arch', sorted(CONFIGS))
def test_config_is_stock_with_our_backbone_and_neck(arch):
    config = CONFIGS[arch]
    ours = plain(Config.fromfile(str(REPO / config)).to_dict())
    stock = plain(Config.fromfile(stock_counterpart(config)).to_dict())
    assert ours.pop('custom_imports') == dict(
        imports=['hrseg_plugin'], allow_failed_imports=False)
    assert ours['default_scope'] == stock['default_scope'] == 'mmpretrain'
    base = 'mmpretrain::' + STOCK_TWINS[config]
    assert ours.pop('stock_equivalent') == base
    # our reliability hooks (as every config of the repo)
    assert ours['default_hooks'].pop('checkpoint') == dict(
        stock['default_hooks'].pop('checkpoint'),
        type='hrseg_plugin.AtomicCheckpointHook')
    assert ours.pop('custom_hooks') == [
        dict(type='hrseg_plugin.NonFiniteLossHook')]
    assert 'custom_hooks' not in stock
    model, stock_model = ours.pop('model'), stock.pop('model')
    assert ours == stock
    backbone, stock_backbone = model.pop('backbone'), stock_model.pop(
        'backbone')
    neck, stock_neck = model.pop('neck'), stock_model.pop('neck')
    assert model == stock_model  # ImageClassifier, LinearClsHead, ...
    assert stock_backbone == dict(type='HRNet', arch=arch)
    assert backbone == dict(type='hrseg_plugin.HRNet', arch=arch,
                            upsample_cfg=dict(mode='nearest'))
    assert stock_neck == [
        dict(type='HRFuseScales', in_channels=list(CHANNELS[arch])),
        dict(type='GlobalAveragePooling')]
    assert neck == [
        dict(type='hrseg_plugin.HRNetClsNeck',
             in_channels=list(CHANNELS[arch]), global_pool=False,
             # HRFuseScales' default init_cfg, so that it initialises alike
             init_cfg=dict(type='Normal', layer='Linear', std=0.01)),
        dict(type='GlobalAveragePooling')]


def test_stock_mmpretrain_defaults_we_reproduce():
    """Read from stock's code: mmpretrain's HRNet presets are ours, and
    its fuse upsamples with nearest; HRFuseScales' default init_cfg is the
    one our configs give our neck."""
    import inspect

    from mmpretrain.models.backbones import HRNet as StockHRNet
    from mmpretrain.models.backbones.hrnet import HRModule
    from mmpretrain.models.necks import HRFuseScales
    for arch in ('w18', 'w30', 'w32', 'w40', 'w44', 'w48', 'w64'):
        extra = StockHRNet.parse_arch(StockHRNet, arch)
        assert plain(extra) == plain(ARCH_SETTINGS[arch]), arch
    assert "mode='nearest'" in inspect.getsource(HRModule._make_fuse_layers)
    assert inspect.signature(HRFuseScales).parameters[
        'init_cfg'].default == dict(type='Normal', layer='Linear', std=0.01)


@pytest.mark.parametrize('arch', ['w18', 'w32'])
def test_neck_is_hrfusescales(arch):
    """HRNetClsNeck(global_pool=False): HRFuseScales' keys, shapes and
    outputs."""
    from mmpretrain.models.necks import HRFuseScales
    stock = randomize_(HRFuseScales(CHANNELS[arch])).eval()
    ours = HRNetClsNeck(CHANNELS[arch], global_pool=False).eval()
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in stock.state_dict().items()}
    ours.load_state_dict(stock.state_dict(), strict=True)
    feats = tuple(torch.randn(2, c, 16 // 2**i, 16 // 2**i)
                  for i, c in enumerate(CHANNELS[arch]))
    with torch.no_grad():
        assert max_rel_error(ours(feats), stock(feats)) < 1e-5


# --------------------------------------------------------------------------
# mmpretrain checkpoints: same keys, same logits
# --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize('arch,size', [('w18', (224, 224)),
                                       ('w32', (64, 64))])
def test_mmpretrain_checkpoint_gives_stock_logits(arch, size):
    config = CONFIGS[arch]
    stock = randomize_(build_classifier(stock_counterpart(config)))
    ours = build_classifier(str(REPO / config))
    result = convert_checkpoint(
        'mmpretrain', dict(state_dict=stock.state_dict(),
                           meta=dict(dataset_meta=dict(classes=['a']))))
    assert result.meta['dataset_meta'] == dict(classes=['a'])
    assert result.meta['recognised']['neck']['type'] == 'HRFuseScales'
    assert list(result.state_dict) == list(stock.state_dict())
    check_state_dict_against_model(result.state_dict, ours)
    ours.load_state_dict(result.state_dict, strict=True)
    x = images(2, size)
    with torch.no_grad():
        logits, ref = ours(x, mode='tensor'), stock(x, mode='tensor')
    assert logits.shape == (2, 1000)
    err = max_rel_error([logits], [ref])
    print(f'mmpretrain {arch} {size}: logits rel. error {err:.2e}')
    assert err <= 1e-4


# --------------------------------------------------------------------------
# timm (= official HRNet-Image-Classification) checkpoints
# --------------------------------------------------------------------------
def timm_model(name):
    import timm
    return randomize_(timm.create_model(name, pretrained=False)).eval()


@pytest.mark.slow
@pytest.mark.parametrize('name,config,size', [
    ('hrnet_w18', CONFIGS['w18'], (224, 224)),
    ('hrnet_w32', CONFIGS['w32'], (64, 64)),
])
def test_timm_checkpoint_gives_timm_logits(name, config, size):
    source = timm_model(name)
    ours = build_classifier(str(REPO / config))
    result = convert_checkpoint('timm', source.state_dict())
    # the downsample and final convs' biases folded into their BN
    assert len(result.meta['folded_biases']) == 4
    check_state_dict_against_model(result.state_dict, ours)
    ours.load_state_dict(result.state_dict, strict=True)
    x = images(2, size, seed=2)
    with torch.no_grad():
        logits, ref = ours(x, mode='tensor'), source(x)
    err = max_rel_error([logits], [ref])
    print(f'timm {name} {size}: logits rel. error {err:.2e}')
    assert err <= 1e-4


@pytest.mark.parametrize('name,arch', [('hrnet_w18_small', 'w18_small_v1'),
                                       ('hrnet_w18_small_v2',
                                        'w18_small_v2')])
def test_timm_small_presets_are_ours(name, arch):
    """Every timm width maps to one of our presets (the small ones here;
    the standard widths through the configs above)."""
    source = timm_model(name)
    result = convert_checkpoint('timm', {'state_dict': source.state_dict(),
                                         'epoch': 3})
    assert result.meta['arch']['stages'] == {
        k: dict(v, num_blocks=list(v['num_blocks']),
                num_channels=list(v['num_channels']))
        for k, v in ARCH_SETTINGS[arch].items()}
    ours = build_classifier(
        str(REPO / CONFIGS['w18']),
        backbone=dict(type='hrseg_plugin.HRNet', arch=arch,
                      upsample_cfg=dict(mode='nearest')),
        neck=[dict(type='hrseg_plugin.HRNetClsNeck',
                   in_channels=CHANNELS[arch], global_pool=False),
              dict(type='GlobalAveragePooling')])
    ours.load_state_dict(result.state_dict, strict=True)
    x = images(1, (64, 64), seed=3)
    with torch.no_grad():
        assert max_rel_error([ours(x, mode='tensor')], [source(x)]) <= 1e-4


def test_official_layout_with_dataparallel_prefix_and_old_buffers():
    """The official release's files: timm's keys, possibly under
    ``module.`` and, from torch < 0.4.1, without ``num_batches_tracked``."""
    sd = timm_model('hrnet_w18_small').state_dict()
    old = {f'module.{k}': v for k, v in sd.items()
           if not k.endswith('num_batches_tracked')}
    result = convert_checkpoint('timm', old)
    assert result.meta['stripped_prefixes'] == ['module.']
    assert result.meta['num_batches_tracked'] == 'synthesized (zeros)'
    ref = convert_checkpoint('timm', sd).state_dict
    assert result.state_dict.keys() == ref.keys()
    assert all(torch.equal(result.state_dict[k], ref[k]) for k in ref
               if not k.endswith('num_batches_tracked'))


# --------------------------------------------------------------------------
# refusals
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def timm_w18_state_dict():
    return timm_model('hrnet_w18').state_dict()


@pytest.fixture(scope='module')
def mmpretrain_w18_state_dict():
    return randomize_(build_classifier(stock_counterpart(CONFIGS['w18']))
                      ).state_dict()


def test_timm_converter_names_bad_keys(timm_w18_state_dict):
    sd = dict(timm_w18_state_dict)
    del sd['incre_modules.2.0.bn3.running_var']
    sd['downsamp_modules.0.3.weight'] = torch.zeros(1)
    sd['final_layer.1.weight'] = torch.ones(1024)
    with pytest.raises(ConversionError) as info:
        convert_checkpoint('timm', sd)
    msg = str(info.value)
    assert 'missing keys (1)' in msg
    assert 'incre_modules.2.0.bn3.running_var' in msg
    assert 'unexpected keys (1)' in msg
    assert 'downsamp_modules.0.3.weight' in msg
    assert 'final_layer.1.weight: got (1024,), expected (2048,)' in msg


def test_timm_converter_refuses_backbone_only_and_others(
        timm_w18_state_dict, mmpretrain_w18_state_dict):
    backbone_only = {k: v for k, v in timm_w18_state_dict.items()
                     if not k.startswith(('incre', 'downsamp', 'final',
                                          'classifier'))}
    with pytest.raises(ConversionError, match='missing keys'):
        convert_checkpoint('timm', backbone_only)
    with pytest.raises(ConversionError, match='use --from mmpretrain'):
        convert_checkpoint('timm', mmpretrain_w18_state_dict)


def test_mmpretrain_converter_names_bad_keys(mmpretrain_w18_state_dict):
    sd = dict(mmpretrain_w18_state_dict)
    del sd['neck.0.downsample_layers.1.bn.bias']
    sd['neck.0.downsample_layers.1.conv.bias'] = torch.zeros(512)
    sd['head.fc.weight'] = torch.zeros(1000, 1024)
    with pytest.raises(ConversionError) as info:
        convert_checkpoint('mmpretrain', sd)
    msg = str(info.value)
    assert 'neck.0.downsample_layers.1.bn.bias' in msg
    assert 'unexpected keys (1)' in msg
    assert 'neck.0.downsample_layers.1.conv.bias' in msg
    assert 'head.fc.weight: got (1000, 1024), expected (1000, 2048)' in msg


def test_mmpretrain_converter_points_timm_checkpoints_elsewhere(
        timm_w18_state_dict):
    with pytest.raises(ConversionError, match='use --from timm'):
        convert_checkpoint('mmpretrain', timm_w18_state_dict)


@pytest.mark.slow
def test_convert_weights_cli_from_timm(timm_w18_state_dict, tmp_path,
                                       capsys):
    src, dst = tmp_path / 'hrnet_w18.pth', tmp_path / 'ours.pth'
    torch.save(timm_w18_state_dict, src)
    tool = import_path('_tool_convert_weights',
                       str(REPO / 'tools' / 'convert_weights.py'))
    assert tool.main(['--from', 'timm', str(src), str(dst), '--config',
                      str(REPO / CONFIGS['w18']), '--no-progress']) == 0
    assert 'checked against' in capsys.readouterr().out
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert saved['meta']['origin'] == 'timm'
    assert any('pytorch-image-models@' in s
               for s in saved['meta']['source_repo'])
    # a W18 classifier does not fit the W32 config
    assert tool.main(['--from', 'timm', str(src), str(tmp_path / 'x.pth'),
                      '--config', str(REPO / CONFIGS['w32']),
                      '--no-progress']) == 2  # refusals exit 2 (#16)
    assert 'shape-mismatched keys' in capsys.readouterr().err


# --------------------------------------------------------------------------
# a converted classifier initialises our other backbones
# --------------------------------------------------------------------------
BACKBONE_CONFIGS = {
    'segmentation': ('configs/hrnet_w18_ocr.py', 'hrnet_w18'),
    'detection': ('configs/faster_rcnn_hrnetv2p_w18.py', 'hrnet_w18'),
    'pose': ('configs/pose_hrnet_w32_coco_256x192.py', 'hrnet_w32'),
}


@pytest.fixture(scope='module')
def converted_classifiers(tmp_path_factory):
    """timm hrnet_w18 / hrnet_w32 with random weights, converted with
    ``--from timm`` and saved as our checkpoints."""
    from hrseg_plugin.converters import save_checkpoint
    out = {}
    for name in ('hrnet_w18', 'hrnet_w32'):
        path = tmp_path_factory.mktemp('cls') / f'{name}_in1k.pth'
        result = convert_checkpoint('timm', timm_model(name).state_dict())
        save_checkpoint(str(path), result.state_dict, result.meta)
        out[name] = (str(path), result.state_dict)
    return out


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(BACKBONE_CONFIGS))
def test_checked_pretrained_loads_converted_classifier(
        task, converted_classifiers, monkeypatch):
    from hrseg_plugin.engine import checked_pretrained
    config, name = BACKBONE_CONFIGS[task]
    path, converted = converted_classifiers[name]
    logged = []
    monkeypatch.setattr(checked_pretrained, 'print_log',
                        lambda msg, **kw: logged.append(
                            (kw.get('level', logging.INFO), msg)))
    cfg = Config.fromfile(str(REPO / config)).model.backbone.to_dict()
    cfg.pop('type')
    cfg['init_cfg'] = dict(type='hrseg_plugin.CheckedPretrained',
                           checkpoint=path, prefix='backbone.')
    backbone = HRNet(**cfg)
    backbone.init_weights()
    own = backbone.state_dict()
    loaded = {k: converted[f'backbone.{k}'] for k in own}
    assert all(torch.equal(own[k], v) for k, v in loaded.items())
    warnings = [m for lvl, m in logged if lvl == logging.WARNING]
    skipped = [m for m in warnings if 'outside prefix' in m]
    assert len(skipped) == 1
    assert 'neck.0.* (' in skipped[0] and 'head.fc.* (2)' in skipped[0]
    if task == 'pose':
        # the single-scale backbone has no fuse layers to the lower
        # branches in its last module: those classifier keys are unused
        unused = [m for m in warnings if 'unexpected keys not used' in m]
        assert unused and 'stage4.2.fuse_layers.1.' in unused[0]
    assert any(m.startswith('loaded ') for _, m in logged)


def test_checked_pretrained_hints_the_prefix(converted_classifiers):
    path, _ = converted_classifiers['hrnet_w18']
    backbone = HRNet(arch='w18', init_cfg=dict(
        type='hrseg_plugin.CheckedPretrained', checkpoint=path))
    with pytest.raises(ValueError, match="set prefix='backbone.'"):
        backbone.init_weights()


# --------------------------------------------------------------------------
# torchvision: the package never needs it; the test stub fails loudly
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_package_never_imports_torchvision():
    """A clean interpreter (no stub): importing hrseg_plugin, every
    converter and the tools' modules leaves torchvision unimported."""
    code = ('import sys, hrseg_plugin\n'
            'from hrseg_plugin.converters import available_origins\n'
            'import hrseg_plugin.apis, hrseg_plugin.apis.benchmark, '
            'hrseg_plugin.apis.task_adapters\n'
            'print(sorted(available_origins()))\n'
            "print('torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, '-c', code], check=True,
                         capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))
    origins, imported = out.stdout.strip().splitlines()
    assert {'mmpose', 'mmpretrain', 'timm'} <= set(eval(origins))
    assert imported == 'False'


def test_stub_raises_when_called():
    if not torchvision_stub.is_installed():
        pytest.skip('a real torchvision is installed here')
    import torchvision
    from torchvision.ops.misc import FrozenBatchNorm2d
    from torchvision.transforms import functional as F
    assert torchvision.__version__ == torchvision_stub.STUB_VERSION
    assert dir(torchvision.transforms) == []
    with pytest.raises(torchvision_stub.TorchvisionStubError,
                       match='FrozenBatchNorm2d was called'):
        FrozenBatchNorm2d(8)
    with pytest.raises(torchvision_stub.TorchvisionStubError):
        F.resize(torch.zeros(3, 4, 4), [2, 2])

    class Sub(torchvision.transforms.RandomResizedCrop):
        pass

    with pytest.raises(torchvision_stub.TorchvisionStubError):
        Sub(224)
    assert not isinstance(torch.nn.BatchNorm2d(2), FrozenBatchNorm2d)


@pytest.mark.slow
def test_benchmark_compares_the_cls_config_with_stock():
    """tools/benchmark.py --compare-stock on the classification config,
    small: the stock twin converted with --from mmpretrain agrees, and both
    models run an inference and a training step."""
    from helpers import check_benchmark_against_stock
    check_benchmark_against_stock(str(REPO / CONFIGS['w18']), 'mmpretrain')


@pytest.mark.slow
def test_infer_writes_the_predicted_class(tmp_path):
    """tools/infer.py on the classification config, in a subprocess with
    the test-only torchvision stub (mmpretrain.apis imports torchvision):
    it writes the image with the predicted class drawn."""
    import cv2
    import numpy as np

    from hrseg_plugin.apis import benchmark as bm
    model = bm.random_model(str(REPO / CONFIGS['w18']), shape=(64, 64))
    ckpt = tmp_path / 'cls.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    img = np.full((96, 128, 3), 90, np.uint8)
    cv2.imwrite(str(tmp_path / 'img.png'), img)
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'infer.py'),
         str(REPO / CONFIGS['w18']), str(ckpt), str(tmp_path / 'img.png'),
         '--out', str(tmp_path / 'out')],
        capture_output=True, text=True, timeout=600,
        env=torchvision_stub.subprocess_env({'OMP_NUM_THREADS': '1'},
                                            (str(REPO), )))
    assert proc.returncode == 0, proc.stderr[-3000:]
    drawn = cv2.imread(str(tmp_path / 'out' / 'img.png'))
    assert drawn.shape == img.shape
    assert (drawn != img).any(axis=2).sum() > 50  # the label text
