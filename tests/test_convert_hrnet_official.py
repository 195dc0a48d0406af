"""``tools/convert_weights.py --from hrnet-official`` / ``--from mmseg``.

The official HRNet-OCR model (re-implemented with the official module names
in ``tests/reference/official_hrnet_ocr.py``) gets random weights and random
BN statistics; its checkpoint is converted with the CLI, loaded strictly into
our model built from our configs with the official upsampling options, and
both must give the same logits (aux and OCR, at 1/4 resolution).
"""
import os
import subprocess
import sys

import pytest
import torch
from helpers import import_path, randomize_, rel_error

from hrseg_plugin.converters import cli as convert_tool
from hrseg_plugin.utils import build_model_from_config as build_from_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, 'tools', 'convert_weights.py')
W18_CFG = os.path.join(ROOT, 'configs', 'hrnet_w18_ocr.py')
W48_CFG = os.path.join(ROOT, 'configs', 'hrnet_ocr.py')
# W48 with the official upsampling written out (for converted checkpoints)
W48_OFFICIAL_CFG = os.path.join(ROOT, 'configs', 'hrnet_ocr_official.py')
STOCK_HR18_CFG = 'mmseg::_base_/models/ocrnet_hr18.py'
NUM_CLASSES = 19
TOL = 1e-4

torch.set_num_threads(2)


# mmseg's wheel installs a top-level ``tests`` package, so the reference is
# imported by path rather than as ``tests.reference``.
official = import_path(
    'hrseg_tests_official_hrnet_ocr',
    os.path.join(ROOT, 'tests', 'reference', 'official_hrnet_ocr.py'))


# official options, as config overrides of our model
OFFICIAL_OPTIONS = {
    'model.backbone.upsample_cfg': dict(mode='bilinear', align_corners=True),
    'model.decode_head.0.align_corners': True,
    'model.decode_head.1.align_corners': True,
    'model.decode_head.0.num_classes': NUM_CLASSES,
    'model.decode_head.1.num_classes': NUM_CLASSES,
}
OFFICIAL_CLI_OPTIONS = [
    '--cfg-options', 'model.backbone.upsample_cfg.mode=bilinear',
    'model.backbone.upsample_cfg.align_corners=True',
    'model.decode_head.0.align_corners=True',
    'model.decode_head.1.align_corners=True',
    f'model.decode_head.0.num_classes={NUM_CLASSES}',
    f'model.decode_head.1.num_classes={NUM_CLASSES}'
]


@torch.no_grad()
def randomize_official_(model, seed, shape=(1, 3, 64, 128)):
    """Random weights, conv biases (the folded ``aux_head.0`` /
    ``conv3x3_ocr.0`` ones included), BN affine and BN running statistics.

    So that every weight matters to the output, activations must stay O(1)
    and the OCR pixel-object attention must be neither uniform nor one-hot
    (either hides errors in the query / key paths). Hence the running
    statistics are the batch statistics of random images of ``shape``
    (variance floored, then perturbed at random), and the scale of the last
    query / key BNs is set for an attention-logit spread of about 2.
    """
    torch.manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_uniform_(m.weight, a=5**0.5)
            if m.bias is not None:
                m.bias.normal_(0, 0.5)
    for m in bns:
        m.weight.uniform_(0.5, 1.5)
        m.bias.normal_(0, 0.2)
        m.reset_running_stats()
        m.momentum = None  # cumulative average: one batch -> its stats
    model.train()
    model(torch.randn(2, *shape[1:]))
    model.eval()
    for m in bns:
        m.momentum = 0.1
        std = m.running_var.sqrt()
        m.running_mean.add_(torch.randn_like(std) * 0.2 * std)
        m.running_var.clamp_(min=0.05).mul_(
            torch.empty_like(std).uniform_(0.7, 1.4))
        m.num_batches_tracked.fill_(1234)

    ocb = model.ocr_distri_head.object_context_block
    grab = {}
    hooks = [
        ocb.f_pixel.register_forward_hook(lambda m, i, o: grab.update(q=o)),
        ocb.f_object.register_forward_hook(lambda m, i, o: grab.update(k=o))
    ]
    model(torch.randn(*shape))
    for h in hooks:
        h.remove()
    logits = grab['q'].flatten(2).transpose(1, 2) @ grab['k'].flatten(2)
    spread = (logits * ocb.key_channels**-0.5).std(-1).mean()
    scale = (2.0 / spread).sqrt()  # q and k are positively homogeneous
    for bn in (ocb.f_pixel[3][0], ocb.f_object[3][0]):
        bn.weight.mul_(scale)
        bn.bias.mul_(scale)
    return model


def make_official(preset, seed=0, shape=(1, 3, 64, 128)):
    cfg = official.get_config(preset, num_classes=NUM_CLASSES)
    model = official.HighResolutionNet(cfg, align_corners=True)
    return randomize_official_(model, seed, shape)


@torch.no_grad()
def official_outputs(model, x):
    out_aux, out = model(x)
    return out_aux, out


@torch.no_grad()
def our_outputs(model, x):
    feats = model.backbone(x)
    aux = model.decode_head[0](feats)
    out = model.decode_head[1](feats, aux)
    return aux, out


def run_cli(*args):
    return subprocess.run([sys.executable, TOOL, '--no-progress', *args],
                          capture_output=True,
                          text=True,
                          cwd=ROOT,
                          timeout=300)


def run_main(capsys, *args):
    """The CLI's ``main`` in-process (cheaper than a subprocess)."""
    rc = convert_tool.main(['--no-progress', *map(str, args)])
    return rc, capsys.readouterr().err


@pytest.fixture(scope='module')
def official_w18():
    return make_official('w18', seed=0)


@pytest.fixture(scope='module')
def official_w18_sd(official_w18):
    return {k: v.clone() for k, v in official_w18.state_dict().items()}


@pytest.fixture(scope='module')
def ours_w18_official():
    """Our W18 model configured like the official one."""
    return build_from_config(W18_CFG, OFFICIAL_OPTIONS)


@pytest.fixture(scope='module')
def image():
    gen = torch.Generator().manual_seed(1)
    return torch.randn(1, 3, 64, 128, generator=gen)


# ----------------------------------------------------------------------------
# hrnet-official: round trip through the CLI
# ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize('fmt', ['state_dict', 'bare_model_prefix'])
def test_official_w18_round_trip(tmp_path, capsys, fmt, official_w18,
                                 official_w18_sd, ours_w18_official, image):
    src, dst = tmp_path / 'official.pth', tmp_path / 'ours.pth'
    if fmt == 'state_dict':
        # official checkpoint.pth.tar style; the CLI as a subprocess, checked
        # against our config
        torch.save({'state_dict': official_w18_sd, 'epoch': 3}, src)
        res = run_cli('--from', 'hrnet-official', str(src), str(dst),
                      '--config', W18_CFG, *OFFICIAL_CLI_OPTIONS)
        assert res.returncode == 0, res.stderr
    else:
        # official final_state.pth: FullModel state dict, ``model.`` prefix
        # and the criterion's class weights; the CLI's main in-process
        sd = {f'model.{k}': v for k, v in official_w18_sd.items()}
        sd['loss.criterion.weight'] = torch.rand(NUM_CLASSES)
        # the same keys as the official wrapper around the official loss
        # (lib/core/criterion.py: CrossEntropy keeps nn.CrossEntropyLoss as
        # ``criterion``)
        loss = torch.nn.Module()
        loss.criterion = torch.nn.CrossEntropyLoss(
            weight=sd['loss.criterion.weight'])
        full = official.FullModel(official_w18, loss)
        assert list(full.state_dict()) == list(sd)
        torch.save(sd, src)
        rc, err = run_main(capsys, '--from', 'hrnet-official', src, dst)
        assert rc == 0, err
    ckpt = torch.load(dst, map_location='cpu')
    assert set(ckpt) == {'state_dict', 'meta'}
    meta = ckpt['meta']
    assert meta['origin'] == 'hrnet-official'
    assert {f['bias'] for f in meta['folded_biases']} == {
        'aux_head.0.bias', 'conv3x3_ocr.0.bias'
    }
    if fmt == 'bare_model_prefix':
        assert meta['stripped_prefixes'] == ['model.']
        assert meta['dropped_keys'] == ['loss.criterion.weight']
        assert len(meta['loss_class_weight']) == NUM_CLASSES
    sd = ckpt['state_dict']
    assert not any('bias' in k and ('convs.0.conv' in k or 'bottleneck.conv'
                                    in k) for k in sd)
    assert int(sd['backbone.bn1.num_batches_tracked']) == 1234

    ours = ours_w18_official
    ours.load_state_dict(sd, strict=True)
    ref_aux, ref_out = official_outputs(official_w18, image)
    aux, out = our_outputs(ours, image)
    assert aux.shape == ref_aux.shape == (1, NUM_CLASSES, 16, 32)
    assert out.shape == ref_out.shape
    err_aux, err_out = rel_error(aux, ref_aux), rel_error(out, ref_out)
    print(f'W18 [{fmt}] rel. error aux {err_aux:.2e} ocr {err_out:.2e}')
    assert err_aux < TOL and err_out < TOL


def test_official_upsampling_matters(official_w18, official_w18_sd, image):
    """The tolerance is discriminating: the official model with
    align_corners=False (stock mmseg's upsampling) is far from it."""
    other = official.HighResolutionNet(
        official.get_config('w18', num_classes=NUM_CLASSES),
        align_corners=False).eval()
    other.load_state_dict(official_w18_sd, strict=True)
    ref_aux, ref_out = official_outputs(official_w18, image)
    aux, out = official_outputs(other, image)
    assert rel_error(aux, ref_aux) > 100 * TOL
    assert rel_error(out, ref_out) > 100 * TOL


@pytest.mark.slow
def test_official_w48_tiny():
    """W48, once, in-process, on a tiny input."""
    from hrseg_plugin.converters import convert_checkpoint
    ref = make_official('w48', seed=2, shape=(1, 3, 32, 64))
    result = convert_checkpoint('hrnet-official',
                                {'state_dict': ref.state_dict()})
    assert result.meta['arch']['widths'] == [48, 96, 192, 384]
    x = torch.randn(1, 3, 32, 64, generator=torch.Generator().manual_seed(3))
    ref_aux, ref_out = official_outputs(ref, x)
    for config, options in ((W48_CFG, OFFICIAL_OPTIONS),
                            (W48_OFFICIAL_CFG, None)):
        ours = build_from_config(config, options)
        ours.load_state_dict(result.state_dict, strict=True)
        aux, out = our_outputs(ours, x)
        err_aux, err_out = rel_error(aux, ref_aux), rel_error(out, ref_out)
        print(f'W48 {os.path.basename(config)} rel. error aux {err_aux:.2e} '
              f'ocr {err_out:.2e}')
        assert err_aux < TOL and err_out < TOL
        del ours


def test_official_without_num_batches_tracked(official_w18_sd):
    """Pre-torch-0.4.1 checkpoints have no ``num_batches_tracked`` at all:
    zeros are added so that strict loading works."""
    from hrseg_plugin.converters import convert_checkpoint
    sd = {
        k: v
        for k, v in official_w18_sd.items()
        if not k.endswith('num_batches_tracked')
    }
    result = convert_checkpoint('hrnet-official', sd)
    assert int(result.state_dict['backbone.bn1.num_batches_tracked']) == 0
    assert result.meta['num_batches_tracked'].startswith('synthesized')


# ----------------------------------------------------------------------------
# hrnet-official: refusals (nothing written)
# ----------------------------------------------------------------------------


def test_refuses_truncated_checkpoint(tmp_path, capsys, official_w18_sd):
    dropped = [
        'stage3.2.branches.1.3.bn2.running_var',
        'ocr_distri_head.object_context_block.f_up.1.0.weight',
        'aux_head.3.bias',
    ]
    sd = {k: v for k, v in official_w18_sd.items() if k not in dropped}
    src, dst = tmp_path / 'truncated.pth', tmp_path / 'out.pth'
    torch.save({'state_dict': sd}, src)
    rc, err = run_main(capsys, '--from', 'hrnet-official', src, dst)
    assert rc == 2
    assert 'missing keys (3)' in err
    for key in dropped:
        assert key in err
    assert not dst.exists()
    assert os.listdir(tmp_path) == ['truncated.pth']


@pytest.mark.parametrize('key,shape', [
    ('aux_head.0.bias', (269, )),  # bias no longer matches its BN
    ('stage2.0.fuse_layers.0.1.0.weight', (18, 35, 1, 1)),
])
def test_refuses_changed_shape(tmp_path, capsys, official_w18_sd, key, shape):
    sd = dict(official_w18_sd)
    sd[key] = torch.zeros(shape)
    src, dst = tmp_path / 'changed.pth', tmp_path / 'out.pth'
    torch.save(sd, src)
    rc, err = run_main(capsys, '--from', 'hrnet-official', src, dst)
    assert rc == 2
    assert 'shape-mismatched keys (1)' in err and key in err
    assert not dst.exists()


def test_refuses_unknown_keys(tmp_path, capsys, official_w18_sd):
    sd = dict(official_w18_sd)
    sd['ocr_distri_head.object_context_block.f_pixel.0.bias'] = torch.zeros(
        256)
    src, dst = tmp_path / 'extra.pth', tmp_path / 'out.pth'
    torch.save(sd, src)
    rc, err = run_main(capsys, '--from', 'hrnet-official', src, dst)
    assert rc == 2
    assert 'unexpected keys (1)' in err
    assert 'ocr_distri_head.object_context_block.f_pixel.0.bias' in err
    assert not dst.exists()


def test_refuses_non_hrnet_ocr_checkpoint(tmp_path, capsys):
    src, dst = tmp_path / 'resnet.pth', tmp_path / 'out.pth'
    torch.save({'conv1.weight': torch.zeros(64, 3, 7, 7),
                'fc.weight': torch.zeros(10, 512)}, src)
    rc, err = run_main(capsys, '--from', 'hrnet-official', src, dst)
    assert rc == 2 and 'not an official HRNet-OCR checkpoint' in err
    assert not dst.exists()


@pytest.mark.slow
def test_refuses_config_of_other_width(tmp_path, capsys, official_w18_sd):
    """A W18 checkpoint checked against the W48 config."""
    src, dst = tmp_path / 'w18.pth', tmp_path / 'out.pth'
    torch.save({'state_dict': official_w18_sd}, src)
    rc, err = run_main(capsys, '--from', 'hrnet-official', src, dst,
                       '--config', W48_CFG)
    assert rc == 2
    assert 'shape-mismatched keys' in err
    assert 'backbone.stage2.0.branches.0.0.conv1.weight' in err
    assert not dst.exists()


def test_every_contract_origin_has_a_converter():
    from hrseg_plugin.converters import KNOWN_ORIGINS, available_origins
    assert set(KNOWN_ORIGINS) <= set(available_origins())


def test_unknown_origin_refused(tmp_path, capsys):
    src, dst = tmp_path / 'in.pth', tmp_path / 'out.pth'
    torch.save({'state_dict': {'a': torch.zeros(1)}}, src)
    with pytest.raises(SystemExit) as exc:
        run_main(capsys, '--from', 'caffe', src, dst)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'caffe'" in err and 'hrnet-official' in err
    assert not dst.exists()


# ----------------------------------------------------------------------------
# mmseg: stock OCRNet-HR18 -> ours
# ----------------------------------------------------------------------------


@pytest.mark.slow
def test_mmseg_ocrnet_hr18_round_trip(tmp_path, capsys, image):
    stock = randomize_(
        build_from_config(STOCK_HR18_CFG,
                          {'model.decode_head.0.num_classes': NUM_CLASSES,
                           'model.decode_head.1.num_classes': NUM_CLASSES}),
        seed=4, mean_scale=0.2).eval()
    assert type(stock.backbone).__module__.startswith('mmseg')
    src, dst = tmp_path / 'stock.pth', tmp_path / 'ours.pth'
    dataset_meta = dict(classes=tuple(f'c{i}' for i in range(NUM_CLASSES)))
    torch.save({'state_dict': stock.state_dict(),
                'meta': {'dataset_meta': dataset_meta}}, src)
    rc, err = run_main(capsys, '--from', 'mmseg', src, dst, '--config',
                       W18_CFG)
    assert rc == 0, err
    ckpt = torch.load(dst, map_location='cpu')
    assert ckpt['meta']['dataset_meta'] == dataset_meta
    assert ckpt['meta']['origin'] == 'mmseg'
    assert list(ckpt['state_dict']) == list(stock.state_dict())

    ours = build_from_config(W18_CFG)  # default options = stock upsampling
    assert type(ours.backbone).__module__.startswith('hrseg_plugin')
    ours.load_state_dict(ckpt['state_dict'], strict=True)
    ref_aux, ref_out = our_outputs(stock, image)
    aux, out = our_outputs(ours, image)
    err_aux, err_out = rel_error(aux, ref_aux), rel_error(out, ref_out)
    print(f'mmseg HR18 rel. error aux {err_aux:.2e} ocr {err_out:.2e}')
    assert err_aux < TOL and err_out < TOL


@pytest.mark.slow
def test_mmseg_refuses_foreign_and_truncated(tmp_path, capsys):
    src, dst = tmp_path / 'in.pth', tmp_path / 'out.pth'
    torch.save({'state_dict': {'module.backbone.conv1.weight':
                               torch.zeros(64, 3, 3, 3)}}, src)
    rc, err = run_main(capsys, '--from', 'mmseg', src, dst)
    assert rc == 2 and 'module.backbone.conv1.weight' in err

    ref = make_official('w18', seed=5)
    from hrseg_plugin.converters import convert_checkpoint
    sd = convert_checkpoint('hrnet-official', ref.state_dict()).state_dict
    del sd['decode_head.1.object_context_block.key_project.1.bn.bias']
    del sd['backbone.stage4.2.fuse_layers.3.0.2.0.weight']
    torch.save({'state_dict': sd}, src)
    rc, err = run_main(capsys, '--from', 'mmseg', src, dst)
    assert rc == 2
    assert 'backbone.stage4.2.fuse_layers.3.0.2.0.weight' in err
    assert 'decode_head.1.object_context_block.key_project.1.bn.bias' in err
    assert not dst.exists()


@pytest.mark.parametrize('origin', ['mmseg', 'mmdet', 'mmpose'])
def test_other_converters_point_official_checkpoints_here(origin):
    """The official code saves its model under ``FullModel.model``: the
    OpenMMLab converters refuse those keys and name ``--from
    hrnet-official``; a plain ``module.`` wrapper gets the wrapper note."""
    from hrseg_plugin.converters import ConversionError, convert_checkpoint
    official = {'model.conv3x3_ocr.0.weight': torch.zeros(1),
                'model.cls_head.weight': torch.zeros(1)}
    with pytest.raises(ConversionError, match='use --from hrnet-official'):
        convert_checkpoint(origin, official)
    wrapped = {'module.backbone.conv1.weight': torch.zeros(1)}
    with pytest.raises(ConversionError,
                       match=f'--from {origin} strips nothing'):
        convert_checkpoint(origin, wrapped)
