"""Top-down pose estimation (MMPose 1.3.2, issue 18): our pose configs are
stock mmpose's HRNet configs with only the backbone swapped; a stock
checkpoint converted with ``--from mmpose`` gives stock's heatmaps and
keypoints; the converter's refusals; what the stack installs."""
import copy
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import import_path, randomize_, stock_config
from mmengine.config import Config
from mmengine.registry import init_default_scope

from hrseg_plugin.converters import (ConversionError, convert_checkpoint,
                                     check_state_dict_against_model)
from hrseg_plugin.models.backbones.hrnet_arch import ARCH_SETTINGS
from hrseg_plugin.utils import max_rel_error

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {
    'w32': 'configs/pose_hrnet_w32_coco_256x192.py',
    'w48': 'configs/pose_hrnet_w48_coco_256x192.py',
}


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """One torch thread (2 shared cores: a second thread spin-waits)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


#: The stock mmpose config each of ours is (the W32 one inherits it; the W48
#: one inherits ours at W32 and changes what stock's W48 changes).
STOCK_TWINS = {
    'configs/pose_hrnet_w32_coco_256x192.py':
    'body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
    'configs/pose_hrnet_w48_coco_256x192.py':
    'body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_hrnet-w48_8xb32-210e_coco-256x192.py',
}


def stock_counterpart(config: str) -> str:
    """The stock mmpose config ours is (``STOCK_TWINS``)."""
    return stock_config('mmpose', STOCK_TWINS[config])


def build_pose(config: str):
    """The pose estimator of a config, no pretrained init, in eval mode."""
    from mmpose.registry import MODELS
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    init_default_scope('mmpose')
    return MODELS.build(cfg.model).eval()


def plain(obj):
    """A config value as plain Python: dicts without mmengine's ``_scope_``
    (added to every dict of an ``mmpose::`` base), tuples as lists."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


# --------------------------------------------------------------------------
# the configs
# --------------------------------------------------------------------------
@pytest.mark.parametrize('arch', sorted(CONFIGS))
def test_config_is_stock_with_our_backbone(arch):
    """Data, schedule, runtime, codec, head: all stock mmpose; the backbone
    is ours, built as stock mmpose builds its HRNet (nearest fuse, one
    output), from the same ImageNet checkpoint through the checked
    loader."""
    config = CONFIGS[arch]
    ours = plain(Config.fromfile(str(REPO / config)).to_dict())
    stock = plain(Config.fromfile(stock_counterpart(config)).to_dict())
    assert ours.pop('custom_imports') == dict(
        imports=['hrseg_plugin'], allow_failed_imports=False)
    assert ours['default_scope'] == stock['default_scope'] == 'mmpose'
    base = 'mmpose::' + STOCK_TWINS[config]
    assert ours.pop('stock_equivalent') == base
    # our reliability hooks (as every config of the repo): crash-safe
    # checkpoints with stock's arguments, stop at the first NaN/Inf loss
    assert ours['default_hooks'].pop('checkpoint') == dict(
        stock['default_hooks'].pop('checkpoint'),
        type='hrseg_plugin.AtomicCheckpointHook')
    assert ours.pop('custom_hooks') == stock.pop('custom_hooks') + [
        dict(type='hrseg_plugin.NonFiniteLossHook')]
    model, stock_model = ours.pop('model'), stock.pop('model')
    assert ours == stock
    backbone, stock_backbone = model.pop('backbone'), stock_model.pop(
        'backbone')
    assert model == stock_model
    assert backbone == dict(
        type='hrseg_plugin.HRNet', arch=arch, in_channels=3,
        upsample_cfg=dict(mode='nearest'), multiscale_output=False,
        init_cfg=dict(stock_backbone['init_cfg'],
                      type='hrseg_plugin.CheckedPretrained'))
    assert stock_backbone.pop('type') == 'HRNet'
    assert plain(ARCH_SETTINGS[arch]) == stock_backbone.pop('extra')
    assert set(stock_backbone) == {'in_channels', 'init_cfg'}


def test_stock_mmpose_hrnet_fuses_with_nearest_single_scale():
    """What the backbone options above reproduce: stock mmpose's HRNet
    defaults (read from its code, not assumed)."""
    import inspect

    from mmpose.models.backbones import HRNet
    from mmpose.models.backbones.hrnet import HRModule
    src = inspect.getsource(HRNet)
    assert "get('multiscale_output', False)" in src
    default = inspect.signature(HRModule).parameters['upsample_cfg'].default
    assert default['mode'] == 'nearest'


# --------------------------------------------------------------------------
# a stock checkpoint, converted, gives stock's heatmaps
# --------------------------------------------------------------------------
def converted_pair(arch):
    """(ours, stock, conversion result): stock mmpose's estimator with
    random weights and random BN statistics, saved as an mmpose checkpoint
    and converted into ours with ``--from mmpose``."""
    config = CONFIGS[arch]
    stock = randomize_(build_pose(stock_counterpart(config)))
    ours = build_pose(str(REPO / config))
    result = convert_checkpoint(
        'mmpose', dict(state_dict=stock.state_dict(),
                       meta=dict(dataset_meta=dict(dataset_name='coco'))))
    check_state_dict_against_model(result.state_dict, ours)
    ours.load_state_dict(result.state_dict, strict=True)
    return ours, stock, result


@pytest.mark.parametrize('arch,size', [('w32', (256, 192)),
                                       ('w48', (128, 96))])
def test_converted_heatmaps_equal_stock(arch, size):
    ours, stock, result = converted_pair(arch)
    assert result.meta['dataset_meta'] == dict(dataset_name='coco')
    assert result.meta['reproduce_with']['backbone'] == dict(
        type='hrseg_plugin.HRNet', upsample_cfg=dict(mode='nearest'),
        multiscale_output=False)
    x = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        heatmaps = ours(x, None, mode='tensor')
        ref = stock(x, None, mode='tensor')
    assert heatmaps.shape == (2, 17, size[0] // 4, size[1] // 4)
    err = max_rel_error([heatmaps], [ref])
    print(f'{arch} heatmaps {tuple(heatmaps.shape)}: rel. error {err:.2e}')
    assert err <= 1e-4


def test_converted_keypoints_equal_stock_with_flip_test():
    """The whole prediction (flip test, heatmap shift, decoding to image
    coordinates) through ``predict``."""
    from mmengine.structures import InstanceData
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.structures import PoseDataSample
    ours, stock, _ = converted_pair('w32')
    coco = parse_pose_metainfo(
        dict(from_file='configs/_base_/datasets/coco.py'))
    samples = []
    for _ in range(2):
        sample = PoseDataSample(metainfo=dict(
            input_size=(192, 256), input_center=np.array([96., 128.]),
            input_scale=np.array([192., 256.]),
            flip_indices=coco['flip_indices']))
        sample.gt_instances = InstanceData(
            bboxes=np.array([[0., 0., 192., 256.]]),
            bbox_scores=np.ones(1))
        samples.append(sample)
    x = torch.randn(2, 3, 256, 192, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = ours.predict(x, copy.deepcopy(samples))
        ref = stock.predict(x, copy.deepcopy(samples))
    for a, b in zip(got, ref):
        assert a.pred_instances.keypoints.shape == (1, 17, 2)
        # keypoints: heatmap argmax + sub-pixel shift, equal up to rounding
        np.testing.assert_allclose(a.pred_instances.keypoints,
                                   b.pred_instances.keypoints, atol=1e-3)
        np.testing.assert_allclose(a.pred_instances.keypoint_scores,
                                   b.pred_instances.keypoint_scores,
                                   rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------
# the converter: command line and refusals
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def stock_w32_state_dict():
    return randomize_(build_pose(stock_counterpart(CONFIGS['w32']))
                      ).state_dict()


def test_convert_weights_cli_checks_against_config(stock_w32_state_dict,
                                                   tmp_path, capsys):
    src, dst = tmp_path / 'stock.pth', tmp_path / 'ours.pth'
    torch.save(dict(state_dict=stock_w32_state_dict,
                    meta=dict(dataset_meta=dict(dataset_name='coco'))), src)
    tool = import_path('_tool_convert_weights',
                       str(REPO / 'tools' / 'convert_weights.py'))
    assert tool.main(['--from', 'mmpose', str(src), str(dst), '--config',
                      str(REPO / CONFIGS['w32']), '--no-progress']) == 0
    out = capsys.readouterr().out
    assert 'checked against' in out
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert saved['meta']['origin'] == 'mmpose'
    assert saved['meta']['dataset_meta'] == dict(dataset_name='coco')
    assert saved['state_dict'].keys() == stock_w32_state_dict.keys()
    # the W48 config refuses the W32 checkpoint, naming keys
    assert tool.main(['--from', 'mmpose', str(src), str(tmp_path / 'x.pth'),
                      '--config', str(REPO / CONFIGS['w48']),
                      '--no-progress']) == 2  # refusals exit 2 (#16)
    err = capsys.readouterr().err
    assert 'shape-mismatched keys' in err and 'backbone.' in err
    assert not (tmp_path / 'x.pth').exists()


def test_converter_names_missing_unexpected_and_misshaped_keys(
        stock_w32_state_dict):
    sd = dict(stock_w32_state_dict)
    gone = 'backbone.stage3.1.branches.2.0.conv1.weight'
    del sd[gone]
    sd['backbone.stage3.1.branches.2.0.extra.weight'] = torch.zeros(1)
    bad = 'backbone.stage4.2.fuse_layers.0.1.1.running_var'
    sd[bad] = torch.ones(7)
    with pytest.raises(ConversionError) as info:
        convert_checkpoint('mmpose', sd)
    msg = str(info.value)
    assert 'missing keys (1)' in msg and gone in msg
    assert 'unexpected keys (1)' in msg and 'extra.weight' in msg
    assert 'shape-mismatched keys (1)' in msg
    assert f'{bad}: got (7,), expected (32,)' in msg


def test_converter_refuses_a_head_that_does_not_fit(stock_w32_state_dict):
    sd = dict(stock_w32_state_dict)
    sd['head.final_layer.weight'] = torch.zeros(17, 48, 1, 1)
    with pytest.raises(ConversionError, match='takes 48 channels.*gives 32'):
        convert_checkpoint('mmpose', sd)


def test_converter_points_other_checkpoints_elsewhere(stock_w32_state_dict):
    seg = {'decode_head.conv_seg.weight': torch.zeros(2, 4, 1, 1),
           **stock_w32_state_dict}
    with pytest.raises(ConversionError, match='use --from mmseg'):
        convert_checkpoint('mmpose', seg)
    cls = {'incre_modules.0.0.conv1.weight': torch.zeros(1)}
    with pytest.raises(ConversionError, match='use --from timm'):
        convert_checkpoint('mmpose', cls)


def test_converter_copies_other_pose_models_unchanged():
    """A non-HRNet mmpose model (here a ResNet) is only copied."""
    sd = {'backbone.conv1.weight': torch.zeros(64, 3, 7, 7),
          'head.final_layer.weight': torch.zeros(17, 256, 1, 1)}
    result = convert_checkpoint('mmpose', sd)
    assert list(result.state_dict) == list(sd)
    assert 'reproduce_with' not in result.meta


# --------------------------------------------------------------------------
# the stack
# --------------------------------------------------------------------------
def test_nothing_we_use_imports_chumpy():
    """mmpose is installed without chumpy (it does not import on Python
    3.11): no module of mmpose 1.3.2 mentions it, and the parts we use
    import neither it nor torchvision (clean interpreter, no stub)."""
    import mmpose
    root = osp.dirname(mmpose.__file__)
    mentions = []
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith('.py'):
                path = osp.join(folder, name)
                with open(path, encoding='utf-8') as f:
                    if 'chumpy' in f.read():
                        mentions.append(osp.relpath(path, root))
    assert mentions == []
    code = ('import sys, hrseg_plugin, mmpose.models, mmpose.datasets, '
            'mmpose.evaluation, mmpose.codecs, mmpose.structures\n'
            "print(sorted(m for m in ('chumpy', 'torchvision') "
            'if m in sys.modules))')
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, '-c', code], env=env, check=True,
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == '[]'


def test_tools_accept_the_pose_scope(tmp_path):
    """tools/train.py reads the pose config (default_scope='mmpose') and
    gets as far as the data: the missing COCO folder is reported with how
    to prepare it."""
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'train.py'),
         str(REPO / CONFIGS['w32']), '--work-dir', str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 2, proc.stderr
    assert 'train_dataloader: data root data/coco/' in proc.stderr
    assert 'cocodataset.org' in proc.stderr
    assert 'Traceback' not in proc.stderr


@pytest.mark.slow
def test_benchmark_compares_the_pose_config_with_stock():
    """tools/benchmark.py --compare-stock on the pose config, small: the
    stock twin converted with --from mmpose agrees, and both models run an
    inference and a training step (random target heatmaps)."""
    from helpers import check_benchmark_against_stock
    check_benchmark_against_stock(str(REPO / CONFIGS['w32']), 'mmpose')


@pytest.mark.slow
def test_infer_draws_keypoints(tmp_path):
    """tools/infer.py on the pose config (whole image as the person box),
    in a subprocess without the test-only torchvision stub (infer's pose
    path avoids mmpose.apis' and mmpose.visualization's torchvision
    imports; where torchvision cannot be imported this proves it): it
    writes the image with the skeleton drawn."""
    import cv2

    from hrseg_plugin.apis import benchmark as bm
    model = bm.random_model(str(REPO / CONFIGS['w32']), shape=(64, 64))
    ckpt = tmp_path / 'pose.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    img = np.full((120, 90, 3), 90, np.uint8)
    cv2.imwrite(str(tmp_path / 'person.png'), img)
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'infer.py'),
         str(REPO / CONFIGS['w32']), str(ckpt), str(tmp_path / 'person.png'),
         '--out', str(tmp_path / 'out')],
        capture_output=True, text=True, timeout=600,
        env=dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    drawn = cv2.imread(str(tmp_path / 'out' / 'person.png'))
    assert drawn.shape == img.shape
    assert (drawn != img).any(axis=2).sum() > 50  # keypoints and links
