"""ONNX export: the graph onnxruntime runs gives PyTorch's outputs, with the
BatchNorms folded away; ``tools/export_onnx.py`` does it from a config and
a checkpoint and fails loudly when the outputs disagree."""
import os.path as osp
import subprocess
import sys

import onnx
import pytest
import torch
from helpers import randomize_

from hrseg_plugin.apis import onnx_export as ox
from hrseg_plugin.apis.benchmark import build_model

CASES = [
    # config, part, input size (odd on purpose where the model allows)
    ('configs/demo/hrnet_ocr.py', 'model', (67, 131)),
    ('configs/demo/bisenet_r18.py', 'model', (64, 96)),
    ('configs/demo/faster_rcnn_hrnetv2p_w18.py', 'backbone', (64, 96)),
]


@pytest.mark.slow
@pytest.mark.parametrize('config,part,shape', CASES)
def test_onnxruntime_matches_pytorch(repo_root, tmp_path, config, part,
                                     shape):
    model = randomize_(build_model(osp.join(repo_root, config))).eval()
    path = str(tmp_path / 'model.onnx')
    names = ox.export_onnx(model, path, shape, batch=2, part=part)
    graph = onnx.load(path).graph
    ops = {node.op_type for node in graph.node}
    # eval mode folds every BatchNorm of our networks into its conv
    # (BiSeNet's context backbone, stock mmseg's ResNet, too: BiSeNet
    # switches the speed-ups on for its whole tree)
    assert 'BatchNormalization' not in ops
    assert [o.name for o in graph.output] == names

    x = torch.randn(2, 3, *shape, generator=torch.Generator().manual_seed(1))
    got = ox.run_session(ox.onnx_session(path), x)
    ref = ox.torch_outputs(model, x, part)
    assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in ref]
    if part == 'model':  # logits at the input size
        assert tuple(got[0].shape[2:]) == shape
    assert ox.max_rel_error(got, ref) < 1e-4


def test_detector_exports_backbone_only(repo_root, tmp_path):
    model = build_model(
        osp.join(repo_root, 'configs/demo/faster_rcnn_hrnetv2p_w18.py'))
    with pytest.raises(ox.ExportError, match='--part backbone'):
        ox.export_onnx(model, str(tmp_path / 'x.onnx'), (64, 64))


def _checkpoint(repo_root, config, path):
    model = randomize_(build_model(osp.join(repo_root, config)))
    classes = [f'c{i}' for i in range(19)]
    torch.save(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dict(
                 classes=classes, palette=[[i, i, i] for i in range(19)]))),
        path)


@pytest.mark.slow
def test_export_tool(repo_root, tmp_path):
    ckpt = tmp_path / 'demo.pth'
    _checkpoint(repo_root, 'configs/demo/hrnet_ocr.py', ckpt)
    out = tmp_path / 'demo.onnx'
    proc = subprocess.run([
        sys.executable, 'tools/export_onnx.py', 'configs/demo/hrnet_ocr.py',
        str(ckpt), '--shape', '64', '128', '--out', str(out), '--repeat', '1'
    ], cwd=repo_root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.is_file()
    assert 'onnxruntime vs PyTorch: max relative difference' in proc.stdout
    assert 'latency, median of 1' in proc.stdout
    session = ox.onnx_session(str(out))
    (logits, ) = ox.run_session(session, torch.zeros(1, 3, 64, 128))
    assert logits.shape == (1, 19, 64, 128)


@pytest.mark.slow
def test_export_tool_refuses_a_wrong_checkpoint(repo_root, tmp_path):
    """A checkpoint of another model does not export silently half-loaded:
    the checked loading of init_model names the missing keys."""
    ckpt = tmp_path / 'bisenet.pth'
    _checkpoint(repo_root, 'configs/demo/bisenet_r18.py', ckpt)
    proc = subprocess.run([
        sys.executable, 'tools/export_onnx.py', 'configs/demo/hrnet_ocr.py',
        str(ckpt), '--shape', '64', '128', '--out', str(tmp_path / 'x.onnx')
    ], cwd=repo_root, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert not (tmp_path / 'x.onnx').exists()
