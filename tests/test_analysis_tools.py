"""The analysis tools we ship where stock's fail on this stack
(tools/analysis/get_flops.py, tools/analysis/browse_dataset.py), and the
stock ones that work on our configs (README "Stock tools")."""
import re
import subprocess
import sys

import cv2
import pytest

from e2e import REPO, stock_tool, tool_env



def run(*cmd, ok=True):
    proc = subprocess.run([sys.executable, *map(str, cmd)], cwd=REPO,
                          env=tool_env(), capture_output=True, text=True,
                          timeout=600)
    if ok:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_stock_mmseg_get_flops_fails_on_cascade_models():
    """Why ours exists (mmseg 1.2.2 with mmengine 0.10.7)."""
    proc = run(stock_tool('mmseg', 'analysis_tools/get_flops.py'),
               'configs/demo/hrnet_ocr.py', '--shape', '64', '128', ok=False)
    assert proc.returncode != 0
    assert "'list' object has no attribute 'type'" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize('config, part, modules', [
    ('configs/demo/hrnet_ocr.py', 'model', ['backbone', 'decode_head']),
    ('configs/demo/bisenet_r18.py', 'model', ['backbone', 'decode_head']),
    ('configs/demo/faster_rcnn_hrnetv2p_w18.py', 'backbone',
     ['backbone', 'neck']),
])
def test_get_flops(config, part, modules):
    proc = run('tools/analysis/get_flops.py', config, '--shape', '64', '128',
               '--part', part, '--depth', '1')
    gmacs = float(re.search(r'GMACs: ([\d.]+)', proc.stdout).group(1))
    params = float(re.search(r'parameters: ([\d.]+) M', proc.stdout).group(1))
    assert gmacs > 0 and params > 0
    for name in modules:
        assert f'|  {name} ' in proc.stdout, proc.stdout
    # the benchmark counts the same network part alike
    from hrseg_plugin.apis.benchmark import (build_model, count_complexity,
                                             make_inputs)
    model = build_model(config)
    counted = count_complexity(model, make_inputs(model, 1, (64, 128)), part)
    assert gmacs == pytest.approx(counted['gmacs'], abs=1e-3)
    assert params == pytest.approx(counted['params_m'], abs=1e-3)


@pytest.mark.slow
def test_get_flops_names_a_bad_shape():
    proc = run('tools/analysis/get_flops.py', 'configs/demo/hrnet_ocr.py',
               '--shape', '0', '128', ok=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        'get_flops.py: error: --shape')


@pytest.mark.slow
def test_stock_mmseg_browse_dataset_fails_in_opencv(demo_data):
    proc = run(stock_tool('mmseg', 'analysis_tools/browse_dataset.py'),
               'configs/demo/hrnet_ocr.py', '--not-show', '--output-dir',
               '/tmp/unused', '--cfg-options',
               f'train_dataloader.dataset.data_root={demo_data}/cityscapes',
               ok=False)
    assert proc.returncode != 0
    assert 'Layout of the output array img is incompatible' in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize('config, root', [
    ('configs/demo/hrnet_ocr.py', 'cityscapes'),
    ('configs/demo/mask_rcnn_hrnetv2p_w18.py', 'coco/'),
])
def test_browse_dataset_draws_the_ground_truth(config, root, demo_data,
                                               tmp_path):
    out = tmp_path / 'vis'
    proc = run('tools/analysis/browse_dataset.py', config, '--out', out,
               '--num', '2', '--cfg-options',
               f'train_dataloader.dataset.data_root={demo_data}/{root}')
    assert 'drew 2 train sample(s)' in proc.stdout
    files = sorted(out.glob('*.png'))
    assert len(files) == 2
    for f in files:
        img = cv2.imread(str(f))
        assert img is not None and img.std() > 10
