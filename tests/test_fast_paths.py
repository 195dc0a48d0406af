"""The fast paths give the outputs of the plain ones: channels_last (the
default of our backbones) against the contiguous layout, and the benchmark
tool's stock comparison on a small input."""
import json
import subprocess
import sys

import pytest
import torch
from mmengine.registry import init_default_scope

from helpers import (count_batch_norms, mmseg_scope_fixture, randomize_,
                     rel_error)

init_default_scope('mmseg')
import hrseg_plugin  # noqa: E402,F401
from hrseg_plugin.models.speedups import eval_folding  # noqa: E402
from hrseg_plugin.registry import MODELS  # noqa: E402

# plain type names are mmseg's, whatever scope an earlier test left
_scope = mmseg_scope_fixture()


BACKBONES = {
    'hrnet': dict(
        type='hrseg_plugin.HRNet', arch='w18_small_v1',
        out_channels_last=True),
    'bisenet': dict(
        type='hrseg_plugin.BiSeNet',
        # mmseg's ResNet whatever default scope an earlier test left: in
        # mmdet's scope 'ResNet' is mmdet's, whose norm_eval=True keeps its
        # norms in eval mode (folded) during training
        backbone_cfg=dict(
            type='mmseg.ResNet', depth=18, out_indices=(0, 1, 2, 3),
            base_channels=16),
        context_channels=32),
}


def _run(name, mode, channels_last, dtype=torch.float32):
    """Outputs and parameter gradients of a randomised backbone."""
    x = torch.randn(2, 3, 67, 131, generator=torch.Generator().manual_seed(0))
    model = randomize_(MODELS.build(
        dict(BACKBONES[name], channels_last=channels_last))).to(dtype)
    model.train(mode == 'train')
    y = model(x.to(dtype))
    sum((t**2).mean() for t in y).backward()
    return [t.detach().float() for t in y], \
        [p.grad.float() for p in model.parameters()]


@pytest.mark.parametrize('name', sorted(BACKBONES))
@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_channels_last_same_outputs_and_gradients(name, mode):
    """channels_last gives the outputs of the contiguous layout, and its
    gradients match a float64 reference. (The contiguous float32 backward
    itself strays up to ~3e-3 from float64 in some HRNet weights on this
    CPU, so float64 is the fair reference for gradients.)"""
    fast_out, fast_grad = _run(name, mode, True)
    plain_out, _ = _run(name, mode, False)
    ref_out, ref_grad = _run(name, mode, False, torch.float64)
    for a, b, ref in zip(fast_out, plain_out, ref_out):
        assert a.shape == b.shape == ref.shape
        assert rel_error(a, b) < 1e-4
        assert rel_error(a, ref) < 1e-4
    # a layout bug gives errors of order 1; rounding in train-mode BN over
    # the few pixels of the 1/32 maps stays below 1e-3
    for a, ref in zip(fast_grad, ref_grad):
        assert rel_error(a, ref) < 1e-3


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_channels_last_reaches_the_outputs(name):
    model = MODELS.build(BACKBONES[name]).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 96))
    assert all(t.is_contiguous(memory_format=torch.channels_last)
               for t in outs)
    model = MODELS.build(dict(BACKBONES[name], channels_last=False)).eval()
    with torch.no_grad():
        assert all(t.is_contiguous() for t in model(torch.randn(1, 3, 64,
                                                                96)))


def test_hrnet_returns_the_default_layout_unless_asked():
    """mmcv's compiled ops (RoIAlign) assume the default layout, so HRNet
    computes in channels_last but returns default-layout features unless
    out_channels_last=True (our segmentation configs)."""
    model = MODELS.build(dict(type='hrseg_plugin.HRNet',
                              arch='w18_small_v1')).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 96))
    assert all(t.is_contiguous() for t in outs)
    assert model.channels_last


def _norm_calls(model, x):
    """Outputs of ``model(x)`` and how many BatchNorm computations it ran
    (a norm folded into its conv computes nothing)."""
    with torch.no_grad(), count_batch_norms() as calls:
        out = model(x)
    return out, len(calls)


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_eval_folding_same_outputs(name):
    """In eval mode the BatchNorms after the convs are folded into the
    conv weights (cached while nothing changes): outputs equal the unfolded
    run to float rounding, the state dict is untouched, and no norm
    computes in either network (BiSeNet's context backbone is stock
    mmseg's ResNet, folded by BiSeNet's speed-ups). The cached folding
    gives the same outputs as the first call's."""
    model = randomize_(MODELS.build(BACKBONES[name])).eval()
    keys = list(model.state_dict())
    x = torch.randn(2, 3, 67, 131, generator=torch.Generator().manual_seed(0))
    folded, folded_calls = _norm_calls(model, x)
    all_folded, all_folded_calls = _norm_calls(model, x)  # from the cache
    with eval_folding(False):
        plain, plain_calls = _norm_calls(model, x)
    for a, b, c in zip(folded, all_folded, plain):
        assert rel_error(a, c) < 1e-5
        assert rel_error(b, c) < 1e-5
    assert list(model.state_dict()) == keys
    assert all_folded_calls == 0
    assert folded_calls == 0 < plain_calls
    # training mode: batch statistics, nothing folded
    model.train()
    _, train_calls = _norm_calls(model, x)
    assert train_calls == plain_calls


@pytest.mark.parametrize('arch', [
    dict(type='ResNet', depth=18),
    dict(type='ResNetV1c', depth=50, dilations=(1, 1, 2, 4),
         strides=(1, 2, 1, 1),
         plugins=[dict(cfg=dict(type='hrseg_plugin.SPM'),
                       stages=(False, False, True, True),
                       position='after_conv2')]),
])
@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_folding_resnet_matches_stock(arch, mode):
    """Stock ResNet / ResNetV1c built through hrseg_plugin.WithSpeedups
    (conv + BN folded in eval mode): stock's class and keys, and with
    stock's weights stock's outputs and gradients; in eval mode no norm
    computes."""
    from mmseg.registry import MODELS as MMSEG_MODELS
    init_default_scope('mmseg')  # stock = mmseg's, whatever ran before
    cfg = dict(arch, stem_channels=16, base_channels=8,
               out_indices=(0, 1, 2, 3))
    stock = randomize_(MMSEG_MODELS.build(cfg))
    ours = MMSEG_MODELS.build(dict(type='hrseg_plugin.WithSpeedups',
                                   module=cfg))
    assert type(ours) is type(stock)
    assert list(ours.state_dict()) == list(stock.state_dict())
    ours.load_state_dict(stock.state_dict())
    x = torch.randn(2, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    results = []
    for model in (stock, ours):
        model.train(mode == 'train')
        xs = x.clone().requires_grad_()
        out = model(xs)
        sum((t**2).mean() for t in out).backward()
        results.append((out, xs.grad, [p.grad for p in model.parameters()]))
    (s_out, s_gx, s_grads), (o_out, o_gx, o_grads) = results
    for a, b in zip(o_out, s_out):
        assert a.shape == b.shape and rel_error(a, b) < 1e-5
    assert rel_error(o_gx, s_gx) < 1e-4
    for a, b in zip(o_grads, s_grads):
        assert rel_error(a, b) < 1e-4
    if mode == 'eval':
        _, stock_calls = _norm_calls(stock, x)
        _, our_calls = _norm_calls(ours, x)
        assert our_calls < stock_calls / 2
        assert our_calls == 0


@pytest.mark.slow
def test_torch_compile_traces_the_folded_networks():
    """torch.compile traces our networks in eval mode, folding included
    (mmcv's own efficient_conv_bn_eval swaps ``conv.forward`` per call,
    which dynamo refuses; our speed-ups do not). The eager backend
    checks the tracing without minutes of code generation."""
    torch._dynamo.reset()
    head = dict(type='hrseg_plugin.OCRHead', in_channels=[18, 36, 72, 144],
                in_index=(0, 1, 2, 3), input_transform='resize_concat',
                channels=32, ocr_channels=16, num_classes=5,
                norm_cfg=dict(type='BN'))
    for cfg in (BACKBONES['hrnet'], BACKBONES['bisenet'], head):
        model = randomize_(MODELS.build(cfg)).eval()
        if cfg is head:
            gen = torch.Generator().manual_seed(0)
            args = ([torch.randn(2, c, 16 // 2**i, 24 // 2**i, generator=gen)
                     for i, c in enumerate([18, 36, 72, 144])],
                    torch.randn(2, 5, 16, 24, generator=gen))
        else:
            args = (torch.randn(2, 3, 64, 96), )
        compiled = torch.compile(model, backend='eager', fullgraph=False)
        with torch.no_grad():
            ref, got = model(*args), compiled(*args)
        for a, b in zip(got if isinstance(got, (list, tuple)) else [got],
                        ref if isinstance(ref, (list, tuple)) else [ref]):
            assert rel_error(a, b) < 1e-6


@pytest.mark.slow
def test_benchmark_tool_compares_with_stock(tmp_path, repo_root):
    out = tmp_path / 'bench.json'
    proc = subprocess.run([
        sys.executable, 'tools/benchmark.py', 'configs/hrnet_w18_ocr.py',
        '--shape', '64', '96', '--compare-stock', '--repeat', '2',
        '--warmup', '0', '--json', str(out), '--profile', '3'
    ], cwd=repo_root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result['max_rel_difference'] < 1e-4
    assert set(result['results']) == {'ours', 'stock'}
    for r in result['results'].values():
        assert len(r['seconds']) == 2 and r['median_s'] > 0
        assert r['peak_rss_mib'] > 100
    ours, stock = result['results']['ours'], result['results']['stock']
    # the same network: identical parameter counts; fewer MACs, as the
    # OCR out-projection (256 -> 512, 1x1) runs over the 19 object vectors
    # instead of the 16 x 24 pixels of the 1/4 map, at the price of
    # attending over the projected 512 channels instead of 256 (the FLOP
    # count traces the network unfolded, so BatchNorms count alike)
    assert ours['params_m'] == pytest.approx(stock['params_m'])
    saved = 256 * 512 * (16 * 24 - 19) / 1e9
    wider_attention = 19 * 16 * 24 * (512 - 256) / 1e9
    assert saved - wider_attention <= stock['gmacs'] - ours['gmacs'] \
        <= 1.2 * saved
    assert 'speed-up' in proc.stdout
    for name in ('ours', 'stock'):
        assert f'{name}: forward convolutions ' in proc.stdout


def test_conv_profile_counts_calls_and_macs():
    """--profile's conv table: calls per step and MACs per call of a
    known strided, grouped conv; transposed convs are left out."""
    import torch.nn.functional as F

    from hrseg_plugin.apis.conv_profile import (conv_macs,
                                                format_conv_profile,
                                                profile_convolutions)
    x = torch.randn(2, 8, 33, 40)
    w = torch.randn(16, 4, 3, 3)
    up = torch.randn(8, 8, 2, 2)

    def step():
        for _ in range(3):
            F.conv2d(x, w, stride=2, padding=1, groups=2)
        F.conv_transpose2d(x, up, stride=2)

    wall, shapes = profile_convolutions(step, runs=2)
    shape, = shapes
    assert (shape.input_shape, shape.weight_shape, shape.stride,
            shape.groups, shape.calls) == ((2, 8, 33, 40), (16, 4, 3, 3),
                                           (2, 2), 2, 3)
    # output 17 x 20; 16 output channels, each over 4 inputs x 3 x 3
    assert shape.gmacs * 1e9 == pytest.approx(2 * 16 * 17 * 20 * 4 * 9)
    assert conv_macs((1, 3, 7, 7), (5, 3, 3, 3), (1, 1), (0, 0), (2, 2),
                     1) == 5 * 3 * 3 * 27
    assert 0 < shape.seconds < wall
    text = format_conv_profile('ours', wall, shapes, 5)
    assert text.startswith('ours: forward convolutions ')
    assert '2x8x33x40' in text and '16x4x3x3' in text


@pytest.mark.slow
def test_benchmark_tool_refuses_config_without_twin(tmp_path, repo_root):
    proc = subprocess.run([
        sys.executable, 'tools/benchmark.py', 'configs/hrnet_ocr_official.py',
        '--shape', '64', '64', '--compare-stock'
    ], cwd=repo_root, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert 'names no stock twin' in proc.stderr


def test_conv_profile_counts_the_backward_pass():
    """--profile in a training step: the backward convolutions are counted
    per shape with the MACs of the gradients computed (input and weight:
    twice the forward's; weight only for a conv on the image, whose input
    needs no gradient), and the op list has every op's self time."""
    import torch.nn.functional as F

    from hrseg_plugin.apis.conv_profile import (format_conv_profile,
                                                profile_step)
    image = torch.randn(2, 3, 32, 40)
    w1 = torch.randn(8, 3, 3, 3, requires_grad=True)
    w2 = torch.randn(16, 8, 3, 3, requires_grad=True)

    def step():
        y = F.conv2d(F.conv2d(image, w1, padding=1).relu(), w2, stride=2)
        y.square().mean().backward()

    wall, shapes, ops = profile_step(step, runs=2)
    by_key = {(s.pass_, s.weight_shape): s for s in shapes}
    assert set(by_key) == {(p, w) for p in ('forward', 'backward')
                           for w in ((8, 3, 3, 3), (16, 8, 3, 3))}
    for w in ((8, 3, 3, 3), (16, 8, 3, 3)):
        fwd, bwd = by_key['forward', w], by_key['backward', w]
        assert fwd.calls == bwd.calls == 1
        factor = 1 if w[1] == 3 else 2  # the image needs no gradient
        assert bwd.gmacs == pytest.approx(factor * fwd.gmacs)
    names = {op.name for op in ops}
    assert {'aten::convolution_backward', 'aten::mkldnn_convolution'} <= \
        names or 'aten::convolution_backward' in names
    text = format_conv_profile('ours', wall, shapes, 5, ops)
    assert 'ours: backward convolutions ' in text
    assert 'ours: ops by self time' in text
