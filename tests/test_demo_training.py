"""configs/demo/hrnet_ocr.py trains on the generated demo data through our
``tools/train.py`` and through mmseg's own packaged train tool, and the loss
falls over a few real iterations."""
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = 'configs/demo/hrnet_ocr.py'
ITERS = 10


def data_options(demo_data):
    root = str(demo_data / 'cityscapes')
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        # small batch and few workers: a 2-core CI machine
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        # no validation: test.py's own tests cover evaluation
        f'train_cfg.max_iters={ITERS}', 'train_cfg.val_interval=1000',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={ITERS}',
        # the full learning rate from the start (the config warms up over
        # 20 iterations)
        'param_scheduler.0.start_factor=1.0',
    ]


def train_losses(work_dir):
    """The per-iteration total loss of the (only) run in ``work_dir``."""
    logs = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    assert logs, f'no training log under {work_dir}'
    records = [json.loads(line) for line in logs[-1].read_text().split('\n')
               if line.strip()]
    return [r['loss'] for r in records if 'loss' in r]


def assert_loss_falls(losses, iters=ITERS):
    assert len(losses) == iters, losses
    first, last = losses[:3], losses[-3:]
    assert sum(last) < 0.9 * sum(first), losses


def run(cmd, env=None):
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f'{" ".join(map(str, cmd))} exited {proc.returncode}\n'
                    f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


def test_demo_config_trains_with_our_tool(demo_data, tmp_path):
    run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir', tmp_path,
        '--cfg-options', *data_options(demo_data)
    ])
    assert (tmp_path / f'iter_{ITERS}.pth').is_file()
    assert_loss_falls(train_losses(tmp_path))


def test_demo_config_trains_with_mmseg_train_tool(demo_data, tmp_path):
    import mmseg
    stock_tool = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools',
                          'train.py')
    assert osp.isfile(stock_tool), stock_tool
    env = dict(os.environ)
    env.pop('LOCAL_RANK', None)
    run([
        sys.executable, stock_tool, CONFIG, '--work-dir', tmp_path,
        '--cfg-options', *data_options(demo_data)
    ], env)
    assert (tmp_path / f'iter_{ITERS}.pth').is_file()
    assert_loss_falls(train_losses(tmp_path))


def test_demo_tool_end_to_end(demo_data, tmp_path):
    """``make demo``'s script, shortened to 4 iterations: it trains,
    evaluates, and writes the per-class IoU, the loss curve and overlays
    (classes absent from the val images are reported as such)."""
    run([
        sys.executable, 'tools/demo.py', '--work-dir', tmp_path,
        '--data-root', demo_data / 'cityscapes', '--max-iters', '4',
        '--num-overlays', '2'
    ])
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert 0 <= metrics['mIoU'] <= 100
    table = (tmp_path / 'per_class_iou.txt').read_text().splitlines()
    assert table[0].startswith(f"mIoU {metrics['mIoU']:.2f}")
    assert len(table) == 1 + 19
    per_class = json.loads((tmp_path / 'per_class_iou.json').read_text())
    for name, iou in per_class.items():
        line = next(l for l in table[1:] if l.startswith(name + ' '))
        assert ('n/a' in line) == (iou is None)
    import cv2
    curve = cv2.imread(str(tmp_path / 'loss_curve.png'))
    assert curve is not None and curve.std() > 0
    overlays = sorted((tmp_path / 'overlays').glob('*.png'))
    assert len(overlays) == 2
