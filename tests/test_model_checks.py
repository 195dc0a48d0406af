"""Bad inputs are named (channels, empty images, unbatched tensors), every
demo segmentor outputs the input's size also below the total stride, and
heads whose in_channels do not match the backbone are refused when built
(issues 7 and 16). Random configurations and sizes:
tests/test_properties.py."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import hrseg_plugin  # noqa: F401  (registers)
from hrseg_plugin.models.backbones.hrnet import HRNet

from demo_models import SEG_DEMOS, build_demo_model, small_bisenet

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize('build', [
    lambda c=3: HRNet(arch='w18_small_v1', in_channels=c),
    lambda c=3: small_bisenet(c),
], ids=['HRNet', 'BiSeNet'])
def test_bad_inputs_are_named(build):
    net = build().eval()
    name = type(net).__name__
    with pytest.raises(ValueError, match=rf'{name}: the input has 1 channels '
                       r'but the backbone was built with in_channels=3'):
        net(torch.zeros(1, 1, 64, 64))
    # issue 16: sizes below the total stride compute (as in stock mmseg);
    # only an empty image is refused
    with pytest.raises(ValueError, match=rf'{name}: the input is 0x64 '
                       r'\(HxW\): an empty image cannot be computed'):
        net(torch.zeros(1, 3, 0, 64))
    with pytest.raises(ValueError, match='expected a batch of images'):
        net(torch.zeros(3, 64, 64))
    with torch.no_grad():  # small sizes, and other widths
        for h, w in [(32, 32), (31, 64), (64, 16), (95, 27), (1, 1)]:
            assert all(torch.isfinite(o).all() for o in net(
                torch.rand(1, 3, h, w))), (h, w)
        four = build(4).eval()
        four(torch.rand(1, 4, 40, 33))


@pytest.mark.slow
@pytest.mark.parametrize('name', SEG_DEMOS)
def test_every_demo_model_outputs_the_input_size(name):
    from hrseg_plugin.engine import check_model_channels
    model = build_demo_model(name).eval()
    check_model_channels(model)  # no false alarm on the shipped configs
    # below the total stride of 32 too, as stock mmseg (issue 16)
    for h, w in [(257, 511), (333, 500), (32, 45), (95, 27), (5, 40)]:
        data = model.data_preprocessor(
            dict(inputs=[torch.randint(0, 256, (3, h, w), dtype=torch.uint8)]),
            False)
        with torch.no_grad():
            out = model.predict(data['inputs'])[0]
        assert out.pred_sem_seg.data.shape == (1, h, w), (name, h, w)
        assert out.seg_logits.data.shape == (19, h, w), (name, h, w)
        assert torch.isfinite(out.seg_logits.data).all()


# --------------------------------------------------------------------------
# config errors at build time: heads vs backbone channels
# --------------------------------------------------------------------------
def build_with(name, options):
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(REPO / 'configs' / 'demo' / f'{name}.py'))
    cfg.merge_from_dict(options)
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('name,options,message', [
    ('hrnet_ocr', {'model.decode_head.1.in_channels': [16, 32, 64, 64]},
     'decode_head.1 (OCRHead): in_channels=176 (the sum of the configured '
     "list, as input_transform='resize_concat') but the backbone HRNet "
     'gives 240 at in_index=(0, 1, 2, 3) (its outputs have [16, 32, 64, '
     '128] channels)'),
    ('bisenet_r18', {'model.decode_head.in_channels': [64, 32]},
     'decode_head (FFMHead): in_channels=[64, 32] but the backbone BiSeNet '
     'gives [64, 64] at in_index=(0, 1)'),
    ('bisenet_r18', {'model.auxiliary_head.1.in_channels': 128},
     'auxiliary_head.1 (FCNHead): in_channels=128 but the backbone BiSeNet '
     'gives 64 at in_index=2'),
    ('hrnet_ocr', {'model.decode_head.0.in_index': (0, 1, 2, 4)},
     'decode_head.0 (FCNHead): in_index=(0, 1, 2, 4) refers to outputs [4], '
     'but the backbone HRNet has 4 outputs'),
])
def test_head_channels_checked_when_built(name, options, message):
    """The check runs as the model is built (issue 16: for every config and
    every path that builds one, not only with ModelCheckHook), and again on
    a built model (check_model_channels: what the hook and the tools call)."""
    from hrseg_plugin import apis as ru
    from hrseg_plugin.engine import check_model_channels
    from hrseg_plugin.errors import ModelConfigError
    with pytest.raises(ModelConfigError) as err:
        build_with(name, options)
    assert message in str(err.value), str(err.value)

    # the same config error made on a built model: the model-level check
    model = build_with(name, {})
    place, value = next(iter(options.items()))
    head = model
    for part in place.split('.')[1:-1]:
        head = head[int(part)] if part.isdigit() else getattr(head, part)
    if getattr(head, 'input_transform', None) == 'resize_concat' and \
            place.endswith('in_channels'):
        value = sum(value)  # what mmseg's BaseDecodeHead keeps
    setattr(head, place.split('.')[-1], value)
    with pytest.raises(ValueError) as err:
        check_model_channels(model)
    assert message in str(err.value), str(err.value)

    class FakeRunner:  # what tools/train.py and test.py call after building
        pass
    runner = FakeRunner()
    runner.model = model
    with pytest.raises(ru.ToolError, match='the model of the config is '
                       'inconsistent: '):
        ru.check_built_model(runner)
