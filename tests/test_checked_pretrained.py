"""init_cfg=dict(type='hrseg_plugin.CheckedPretrained') loads the right
model's weights and refuses another model's, in a small HRNet and in every
config's pretrained init (issue 7)."""
import functools
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import hrseg_plugin  # noqa: F401  (registers)
from hrseg_plugin.models.backbones.hrnet import HRNet

from demo_models import small_bisenet

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# weight loading: init_cfg=dict(type='hrseg_plugin.CheckedPretrained')
# --------------------------------------------------------------------------
def small_hrnet(**kwargs):
    torch.manual_seed(len(kwargs))
    return HRNet(arch='w18_small_v1', **kwargs)


@pytest.mark.slow
def test_checked_pretrained_loads_the_right_model(tmp_path, caplog):
    src = small_hrnet()
    sd = dict(src.state_dict())
    sd['classifier.weight'] = torch.zeros(3, 3)  # extra keys are fine
    path = str(tmp_path / 'hrnet.pth')
    torch.save(dict(state_dict=sd), path)
    dst = small_hrnet(init_cfg=dict(type='hrseg_plugin.CheckedPretrained',
                                    checkpoint=path))
    dst.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k
    # with a prefix, from a whole segmentor's checkpoint
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in sd.items()}),
               path)
    dst = small_hrnet(init_cfg=dict(type='hrseg_plugin.CheckedPretrained',
                                    checkpoint=path, prefix='backbone.'))
    dst.init_weights()
    assert torch.equal(dst.conv1.weight, src.conv1.weight)


def test_checked_pretrained_refuses_another_model(tmp_path):
    wide = HRNet(arch='w18')  # another width: same keys, other shapes
    path = str(tmp_path / 'w18.pth')
    torch.save(dict(state_dict=wide.state_dict()), path)

    # the stock initializer half-loads it without an error ...
    stock = small_hrnet(init_cfg=dict(type='Pretrained', checkpoint=path))
    stock.init_weights()
    # ... ours refuses, naming the keys
    ours = small_hrnet(init_cfg=dict(type='hrseg_plugin.CheckedPretrained',
                                     checkpoint=path))
    with pytest.raises(ValueError) as err:
        ours.init_weights()
    msg = str(err.value)
    assert f'HRNet: refusing to load {path}' in msg
    assert 'shape-mismatched keys' in msg
    assert 'layer1.0.conv1.weight: got (64, 64, 1, 1), expected ' \
        '(32, 64, 1, 1)' in msg, msg

    other = small_bisenet()  # another network: keys missing
    torch.save(other.state_dict(), path)
    ours = small_hrnet(init_cfg=dict(type='hrseg_plugin.CheckedPretrained',
                                     checkpoint=path))
    with pytest.raises(ValueError) as err:
        ours.init_weights()
    msg = str(err.value)
    assert 'missing keys' in msg and 'conv1.weight' in msg
    assert 'unexpected keys' in msg and 'spatial_path.' in msg


# --------------------------------------------------------------------------
# the configs' pretrained init (that every config uses CheckedPretrained and
# the checked loaders: tests/test_configs.py)
# --------------------------------------------------------------------------
def plain_hrnet_checkpoint(path, arch='w18'):
    """A checkpoint shaped like the model zoo's ImageNet HRNetV2: the
    backbone's keys plus classification-head keys the segmentor has not."""
    sd = dict(HRNet(arch=arch).state_dict())
    sd['incre_modules.0.0.conv1.weight'] = torch.zeros(32, 18, 1, 1)
    sd['classifier.weight'] = torch.zeros(1000, 2048)
    torch.save(dict(state_dict=sd), path)
    return sd


def plain_resnet_v1c_checkpoint(path, depth=50):
    from mmseg.models.backbones import ResNetV1c
    sd = dict(ResNetV1c(depth=depth).state_dict())
    sd['fc.weight'] = torch.zeros(1000, 2048)
    torch.save(sd, path)
    return sd


@pytest.mark.slow
@pytest.mark.parametrize('config, make_checkpoint, wrong_checkpoint', [
    ('hrnet_w18_ocr.py', plain_hrnet_checkpoint,
     functools.partial(plain_hrnet_checkpoint, arch='w32')),
    # the SK convs' keys may be missing from a plain HRNet's checkpoint,
    # nothing else may
    ('hrnet_w18_skconv_ocr.py', plain_hrnet_checkpoint,
     functools.partial(plain_hrnet_checkpoint, arch='w18_small_v1')),
    ('faster_rcnn_hrnetv2p_w18.py', plain_hrnet_checkpoint,
     functools.partial(plain_hrnet_checkpoint, arch='w40')),
    # the SPM plugins' keys may be missing from ResNetV1c's checkpoint
    ('spnet_r50.py', plain_resnet_v1c_checkpoint,
     functools.partial(plain_resnet_v1c_checkpoint, depth=18)),
])
def test_configs_pretrained_init_loads_or_refuses(tmp_path, config,
                                                  make_checkpoint,
                                                  wrong_checkpoint):
    """The configs' ImageNet init, pointed at a local file of the right
    network, loads every key the file has; a file of another width or depth
    is refused by name instead of half-loading."""
    from mmengine.registry import MODELS
    cfg = Config.fromfile(str(REPO / 'configs' / config))
    init_default_scope(cfg.default_scope)
    good = str(tmp_path / 'imagenet.pth')
    sd = make_checkpoint(good)
    cfg.model.backbone.init_cfg.checkpoint = good
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    own = backbone.state_dict()
    may_miss = [re.compile(p) for p in
                cfg.model.backbone.init_cfg.get('allow_missing', [])]
    for key, value in own.items():
        if not any(p.search(key) for p in may_miss):
            assert torch.equal(value, sd[key]), key

    bad = str(tmp_path / 'other.pth')
    wrong_checkpoint(bad)
    cfg.model.backbone.init_cfg.checkpoint = bad
    backbone = MODELS.build(cfg.model.backbone)
    with pytest.raises(ValueError, match=f'refusing to load {bad}: it is '
                       'not a checkpoint of this model'):
        backbone.init_weights()
