"""configs/demo/hrnet_ocr.py trains on the generated demo data through our
``tools/train.py`` and through mmseg's own packaged train tool, and the loss
falls over a few real iterations."""
import json

import pytest

from e2e import assert_loss_falls, run, short_seg_training, stock_tool, \
    train_losses

CONFIG = 'configs/demo/hrnet_ocr.py'
ITERS = 10
pytestmark = pytest.mark.slow


def test_demo_config_trains_with_our_tool(demo_data, tmp_path):
    run(['tools/train.py', CONFIG, '--work-dir', tmp_path,
         '--cfg-options', *short_seg_training(demo_data, ITERS)])
    assert (tmp_path / f'iter_{ITERS}.pth').is_file()
    assert_loss_falls(train_losses(tmp_path), ITERS, 0.9)


def test_demo_config_trains_with_mmseg_train_tool(demo_data, tmp_path):
    run([stock_tool('mmseg', 'train.py'), CONFIG, '--work-dir', tmp_path,
         '--cfg-options', *short_seg_training(demo_data, ITERS)])
    assert (tmp_path / f'iter_{ITERS}.pth').is_file()
    assert_loss_falls(train_losses(tmp_path), ITERS, 0.9)


def test_demo_tool_end_to_end(demo_data, tmp_path):
    """``make demo``'s script, shortened to 4 iterations: it trains,
    evaluates, and writes the per-class IoU, the loss curve and overlays
    (classes absent from the val images are reported as such)."""
    run([
        'tools/demo.py', '--work-dir', tmp_path,
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
