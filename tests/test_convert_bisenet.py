"""``tools/convert_weights.py --from mmseg`` (stock BiSeNetV1) and
``--from bisenet-coincheung`` (CoinCheung/BiSeNet BiSeNetV1, the four
layouts of its history, ``tests/reference/coincheung_bisenetv1.py``).

The original model (stock mmseg built from its own config; CoinCheung's from
the reference copy in ``tests/reference/coincheung_bisenetv1.py``) gets random
weights and random BN statistics, its checkpoint is converted by the CLI
(checked against our config), loaded strictly into our model built from our
config, and the logits of the main and both auxiliary outputs must agree.
"""
import os

import pytest
import torch
import torch.nn.functional as F

from helpers import import_path, randomize_, rel_error

from hrseg_plugin.converters import cli as convert_tool
from hrseg_plugin.utils import build_model_from_config as build_from_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
R18_CFG = os.path.join(ROOT, 'configs', 'bisenet_r18.py')
COINCHEUNG_CFG = os.path.join(ROOT, 'configs', 'bisenet_r18_coincheung.py')
STOCK_CFG = 'mmseg::_base_/models/bisenetv1_r18-d32.py'
NUM_CLASSES = 19
TOL = 1e-4

torch.set_num_threads(2)


# mmseg's wheel installs a top-level ``tests`` package: import by path
coincheung = import_path(
    'hrseg_tests_coincheung_bisenetv1',
    os.path.join(ROOT, 'tests', 'reference', 'coincheung_bisenetv1.py'))


def run_main(capsys, *args):
    """The CLI's ``main`` in-process."""
    rc = convert_tool.main(['--no-progress', *map(str, args)])
    out = capsys.readouterr()
    return rc, out.err, out.out


@torch.no_grad()
def segmentor_outputs(model, x):
    """Main logits at the input size (mmseg's inference path) and the two
    auxiliary heads' outputs."""
    h, w = x.shape[2:]
    feats = model.extract_feat(x)
    main = model.decode_head.predict(feats, [dict(img_shape=(h, w))],
                                     model.test_cfg)
    return main, [head(feats) for head in model.auxiliary_head]


def image(h=64, w=128, seed=1):
    return torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(
        seed))


# ----------------------------------------------------------------------------
# stock mmseg BiSeNetV1
# ----------------------------------------------------------------------------


@pytest.fixture(scope='module')
def stock_r18():
    model = randomize_(build_from_config(STOCK_CFG), seed=3).eval()
    assert type(model.backbone).__module__.startswith('mmseg')
    return model


@pytest.fixture(scope='module')
def converted_r18(stock_r18, tmp_path_factory):
    """Stock checkpoint -> CLI (checked against configs/bisenet_r18.py) ->
    our model."""
    tmp = tmp_path_factory.mktemp('mmseg_bisenet')
    src, dst = tmp / 'stock.pth', tmp / 'ours.pth'
    dataset_meta = dict(classes=tuple(f'c{i}' for i in range(NUM_CLASSES)))
    torch.save({'state_dict': stock_r18.state_dict(),
                'meta': {'dataset_meta': dataset_meta}}, src)
    rc = convert_tool.main(['--no-progress', '--from', 'mmseg', str(src),
                            str(dst), '--config', R18_CFG])
    assert rc == 0
    ckpt = torch.load(dst, map_location='cpu')
    assert ckpt['meta']['dataset_meta'] == dataset_meta
    assert ckpt['meta']['recognised']['decode_head']['num_classes'] == 19
    ours = build_from_config(R18_CFG)
    assert type(ours.backbone).__module__.startswith('hrseg_plugin')
    ours.load_state_dict(ckpt['state_dict'], strict=True)
    return ours, ckpt['state_dict']


@pytest.mark.slow
def test_mmseg_keys_mapped(stock_r18, converted_r18):
    _, sd = converted_r18
    stock = stock_r18.state_dict()
    assert len(sd) == len(stock)
    # the FFM moved into the decode head; the rest kept its names
    assert torch.equal(sd['decode_head.fusion_conv.conv.weight'],
                       stock['backbone.ffm.conv1.conv.weight'])
    assert torch.equal(sd['decode_head.attention.convs.0.bn.running_var'],
                       stock['backbone.ffm.conv_atten.0.bn.running_var'])
    assert torch.equal(
        sd['backbone.context_path.arm32.attention.convs.0.conv.weight'],
        stock['backbone.context_path.arm32.atten_conv_layer.1.conv.weight'])
    assert torch.equal(sd['backbone.context_path.gap_conv.bn.running_mean'],
                       stock['backbone.context_path.gap_conv.1.bn.'
                             'running_mean'])
    assert not any(k.startswith('backbone.ffm.') for k in sd)
    same = [k for k in stock if k in sd]
    assert all(torch.equal(sd[k], stock[k]) for k in same)


@pytest.mark.parametrize('hw', [(64, 128), (75, 101)])
def test_mmseg_bisenetv1_equivalence(stock_r18, converted_r18, hw):
    ours, _ = converted_r18
    x = image(*hw)
    ref_main, ref_aux = segmentor_outputs(stock_r18, x)
    main, aux = segmentor_outputs(ours, x)
    assert main.shape == ref_main.shape == (2, NUM_CLASSES, *hw)
    errors = [rel_error(main, ref_main)] + [
        rel_error(a, r) for a, r in zip(aux, ref_aux)
    ]
    print(f'mmseg BiSeNetV1-R18 {hw}: rel. errors main/aux16/aux32 '
          + ' '.join(f'{e:.1e}' for e in errors))
    assert max(errors) < TOL


def test_mmseg_tolerance_discriminates(stock_r18, converted_r18):
    """Bilinear instead of stock's nearest upsampling in the context path
    is far outside the tolerance."""
    ours, _ = converted_r18
    x = image()
    ref_main, _ = segmentor_outputs(stock_r18, x)
    ours.backbone.context_path.upsample = dict(mode='bilinear',
                                               align_corners=False)
    try:
        main, _ = segmentor_outputs(ours, x)
    finally:
        ours.backbone.context_path.upsample = dict(mode='nearest',
                                                   align_corners=None)
    assert rel_error(main, ref_main) > 100 * TOL


def test_mmseg_refusals(stock_r18, tmp_path, capsys):
    sd = dict(stock_r18.state_dict())
    dropped = ['backbone.ffm.conv_atten.0.bn.weight',
               'backbone.context_path.arm16.conv_layer.bn.running_var']
    for k in dropped:
        del sd[k]
    sd['backbone.ffm.conv1.conv.bias'] = torch.zeros(256)
    sd['backbone.spatial_path.layer3.conv.weight'] = torch.zeros(64, 32, 3, 3)
    src, dst = tmp_path / 'bad.pth', tmp_path / 'out.pth'
    torch.save({'state_dict': sd}, src)
    rc, err, _ = run_main(capsys, '--from', 'mmseg', src, dst)
    assert rc == 2
    assert 'missing keys (2)' in err and all(k in err for k in dropped)
    assert 'unexpected keys (1)' in err
    assert 'backbone.ffm.conv1.conv.bias' in err
    assert 'backbone.spatial_path.layer3.conv.weight' in err
    assert not dst.exists()


# ----------------------------------------------------------------------------
# CoinCheung/BiSeNet BiSeNetV1
# ----------------------------------------------------------------------------


def convert_coincheung(theirs, tmp, *, module_prefix=False):
    """Their checkpoint -> the CLI, checked against our config with the
    overrides the converter reports -> our model with those weights."""
    src, dst = tmp / 'theirs.pth', tmp / 'ours.pth'
    sd = theirs.state_dict()
    if module_prefix:  # DataParallel-wrapped save
        sd = {f'module.{k}': v for k, v in sd.items()}
    torch.save(sd, src)

    from hrseg_plugin.converters import convert_checkpoint
    meta = convert_checkpoint('bisenet-coincheung', dict(sd)).meta
    options = meta['cfg_options']
    cli_options = [f'{k}={v}' for k, v in options.items()]
    rc = convert_tool.main(['--no-progress', '--from', 'bisenet-coincheung',
                            str(src), str(dst), '--config', COINCHEUNG_CFG,
                            '--cfg-options', *cli_options])
    assert rc == 0
    ckpt = torch.load(dst, map_location='cpu')
    assert ckpt['meta']['version'] == meta['version']
    ours = build_from_config(COINCHEUNG_CFG, options)
    ours.load_state_dict(ckpt['state_dict'], strict=True)
    return ours, ckpt['meta']


@pytest.fixture(scope='module', params=coincheung.LAYOUTS)
def coincheung_case(request, tmp_path_factory):
    """Their model in one layout with random weights and its conversion."""
    layout = request.param
    theirs = randomize_(coincheung.BiSeNetV1(NUM_CLASSES, layout=layout),
                        seed=5).eval()
    ours, meta = convert_coincheung(
        theirs, tmp_path_factory.mktemp(f'coincheung_{layout}'),
        module_prefix=layout == 'original')
    return layout, theirs, ours, meta


@pytest.mark.slow
def test_coincheung_meta(coincheung_case):
    layout, _, _, meta = coincheung_case
    assert meta['origin'] == 'bisenet-coincheung'
    assert meta['num_classes'] == NUM_CLASSES
    assert meta['version'] == layout
    assert meta['config'] == 'configs/bisenet_r18_coincheung.py'
    num_classes = {
        'model.decode_head.num_classes': 19,
        'model.auxiliary_head.0.num_classes': 19,
        'model.auxiliary_head.1.num_classes': 19
    }
    options = meta['cfg_options']
    if layout == 'current':  # the published weights: the config as it is
        assert options == num_classes
        assert meta['zero_biases'] == []
    else:
        assert options['model.decode_head.attention_cfg.reduction'] == 4
        assert options['model.decode_head.attention_cfg.norm_cfg'] is None
    if layout == 'original':
        assert meta['stripped_prefixes'] == ['module.']
        assert meta['zero_biases'] == [
            'decode_head.conv_seg.bias', 'auxiliary_head.0.conv_seg.bias',
            'auxiliary_head.1.conv_seg.bias'
        ]
        assert options['model.decode_head.align_corners'] is True
        assert options['model.auxiliary_head.1.align_corners'] is True
    if layout == 'pixel-shuffle':
        assert options['model.decode_head.pixel_shuffle_factor'] == 8
        assert options['model.auxiliary_head.1.type'] == \
            'hrseg_plugin.PixelShuffleFCNHead'
        assert options['model.auxiliary_head.1.pixel_shuffle_factor'] == 16
    # the meta names every override in the printed command line
    assert all(f'{k}={v}' in meta['reproduce_with']
               for k, v in options.items())


@pytest.mark.slow
def test_coincheung_published_layout_is_the_config(tmp_path, capsys):
    """The layout of model_final_v1_city_new.pth converts and loads into
    configs/bisenet_r18_coincheung.py without any override."""
    theirs = coincheung.BiSeNetV1(NUM_CLASSES, layout='current')
    assert 'ffm.bn.running_var' in theirs.state_dict()
    assert theirs.state_dict()['conv_out.conv_out.bias'].shape == (19, )
    src, dst = tmp_path / 'model_final_v1_city_new.pth', tmp_path / 'o.pth'
    torch.save(theirs.state_dict(), src)
    rc, err, out = run_main(capsys, '--from', 'bisenet-coincheung', src,
                            dst, '--config', COINCHEUNG_CFG)
    assert rc == 0, err
    assert 'checked against' in out


def test_coincheung_equivalence(coincheung_case):
    layout, theirs, ours, _ = coincheung_case
    x = image(64, 128, seed=2)  # their context path needs multiples of 32
    with torch.no_grad():
        ref = theirs(x)
    main, aux = segmentor_outputs(ours, x)
    if layout == 'original':  # their outputs are interpolated to the input
        aux = [F.interpolate(a, x.shape[2:], mode='bilinear',
                             align_corners=True) for a in aux]
    else:  # mmseg resizes the auxiliary outputs in the loss only
        aux = [F.interpolate(a, x.shape[2:], mode='bilinear',
                             align_corners=False) for a in aux]
    outs = [main] + aux
    for out, r in zip(outs, ref):
        assert out.shape == r.shape == (2, NUM_CLASSES, 64, 128)
    errors = [rel_error(o, r) for o, r in zip(outs, ref)]
    print(f'CoinCheung BiSeNetV1 ({layout}): rel. errors main/aux16/aux32 '
          + ' '.join(f'{e:.1e}' for e in errors))
    assert max(errors) < TOL


def test_coincheung_original_odd_size(coincheung_case):
    """Their first layout interpolates to the input size, as mmseg does:
    equal at any size."""
    layout, theirs, ours, _ = coincheung_case
    if layout != 'original':
        pytest.skip('the other layouts: test_coincheung_current_odd_size')
    x = image(75, 101, seed=4)
    with torch.no_grad():
        ref = theirs(x)[0]
    main, _ = segmentor_outputs(ours, x)
    assert main.shape == ref.shape == (2, NUM_CLASSES, 75, 101)
    assert rel_error(main, ref) < TOL


@pytest.mark.slow
def test_coincheung_current_odd_size(tmp_path):
    """At an odd size where their model runs (a side of 32k + 25..31),
    their ``nn.Upsample(scale_factor=8)`` gives 8 * ceil(H / 8) rows where
    mmseg resizes to the H rows of the input. The 1/8 logits agree to 1e-4;
    the upsampled ones differ by where bilinear interpolation samples the
    same 1/8 map: ours at (i + 0.5) * h / H - 0.5, theirs at
    (i + 0.5) / 8 - 0.5, less than one 1/8 pixel apart, so the difference is
    at most that distance times the largest step between neighbouring 1/8
    logits (per axis)."""
    theirs = randomize_(coincheung.BiSeNetV1(NUM_CLASSES), seed=8).eval()
    ours, _ = convert_coincheung(theirs, tmp_path)
    hw = (89, 121)  # 64 + 25, 96 + 25
    x = image(*hw, seed=3)
    low = {}
    hook = theirs.conv_out.conv_out.register_forward_hook(
        lambda m, i, o: low.setdefault('theirs', o))
    with torch.no_grad():
        ref = theirs(x)[0]
    hook.remove()
    h, w = low['theirs'].shape[2:]
    assert (h, w) == (12, 16) and ref.shape[2:] == (96, 128)
    with torch.no_grad():
        ours_low = ours.decode_head(ours.extract_feat(x))
    assert rel_error(ours_low, low['theirs']) < TOL
    main, _ = segmentor_outputs(ours, x)
    assert main.shape[2:] == hw
    diff = (main - ref[:, :, :hw[0], :hw[1]]).abs().max().item()
    lo = low['theirs']
    step_y = (lo[:, :, 1:] - lo[:, :, :-1]).abs().max().item()
    step_x = (lo[..., 1:] - lo[..., :-1]).abs().max().item()
    shift_y = (hw[0] - 0.5) * (h / hw[0] - 1 / 8)
    shift_x = (hw[1] - 0.5) * (w / hw[1] - 1 / 8)
    bound = shift_y * step_y + shift_x * step_x
    print(f'CoinCheung BiSeNetV1 at {hw}: max |ours - theirs| {diff:.3g}, '
          f'bound {bound:.3g} (shifts {shift_y:.3f}, {shift_x:.3f} px at '
          '1/8)')
    assert 0 < diff <= bound * (1 + 1e-5)


def test_coincheung_refusals(tmp_path, capsys):
    sd = randomize_(coincheung.BiSeNetV1(3, layout='pixel-shuffle'),
                    seed=6).state_dict()
    src, dst = tmp_path / 'bad.pth', tmp_path / 'out.pth'

    bad = dict(sd)
    del bad['cp.arm32.bn_atten.running_mean']
    bad['ffm.conv2.weight'] = torch.zeros(256, 32, 1, 1)
    torch.save(bad, src)
    rc, err, _ = run_main(capsys, '--from', 'bisenet-coincheung', src, dst)
    assert rc == 2
    assert 'missing keys (1)' in err
    assert 'cp.arm32.bn_atten.running_mean' in err
    assert 'shape-mismatched keys (1)' in err and 'ffm.conv2.weight' in err
    assert 'pixel-shuffle layout' in err
    assert not dst.exists()

    # today's layout with the FFM's BN dropped
    bad = dict(randomize_(coincheung.BiSeNetV1(3), seed=6).state_dict())
    del bad['ffm.bn.weight']
    torch.save(bad, src)
    rc, err, _ = run_main(capsys, '--from', 'bisenet-coincheung', src, dst)
    assert rc == 2 and 'current layout' in err and 'ffm.bn.weight' in err

    # their checkpoint given to --from mmseg: refused with a hint
    torch.save(sd, src)
    rc, err, _ = run_main(capsys, '--from', 'mmseg', src, dst)
    assert rc == 2 and '--from bisenet-coincheung' in err
    # a stock mmseg checkpoint given to --from bisenet-coincheung
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)}},
               src)
    rc, err, _ = run_main(capsys, '--from', 'bisenet-coincheung', src, dst)
    assert rc == 2 and 'not a CoinCheung/BiSeNet BiSeNetV1' in err
    assert not dst.exists()


@pytest.mark.slow
@pytest.mark.parametrize('layout', ['current', 'pixel-shuffle'])
def test_coincheung_without_aux(layout, tmp_path, capsys):
    """A checkpoint of their model without the auxiliary outputs
    (``aux_mode='eval'``) converts to a model without auxiliary heads; the
    converter says so."""
    theirs = randomize_(
        coincheung.BiSeNetV1(NUM_CLASSES, aux_mode='eval', layout=layout),
        seed=7)
    src, dst = tmp_path / 'theirs.pth', tmp_path / 'ours.pth'
    torch.save(theirs.state_dict(), src)
    from hrseg_plugin.converters import convert_checkpoint
    meta = convert_checkpoint('bisenet-coincheung',
                              theirs.state_dict()).meta
    assert meta['version'] == layout
    rc, err, out = run_main(
        capsys, '--from', 'bisenet-coincheung', src, dst, '--config',
        COINCHEUNG_CFG, '--cfg-options',
        *[f'{k}={v}' for k, v in meta['cfg_options'].items()])
    assert rc == 0, err
    assert 'model.auxiliary_head=None' in out
    sd = torch.load(dst, map_location='cpu')['state_dict']
    assert not any(k.startswith('auxiliary_head') for k in sd)
