"""The demo detection configs (HRNetV2p-W18 Faster and Mask R-CNN) on the
small demo data set: they train with falling loss through ``tools/train.py``
and mmdet's own packaged train tool, ``tools/test.py`` reports COCO mAP and
``tools/infer.py`` paints the predictions."""
import json

import numpy as np
import pytest

from e2e import (NO_WORKERS, assert_loss_falls, coco_roots, run, stock_tool,
                 train_losses, with_repo_on_path)

DEMO_FASTER = 'configs/demo/faster_rcnn_hrnetv2p_w18.py'
DEMO_MASK = 'configs/demo/mask_rcnn_hrnetv2p_w18.py'
pytestmark = pytest.mark.slow
ITERS = 8


def data_options(demo_data, iters=ITERS):
    return [
        *coco_roots(demo_data), *NO_WORKERS, 'train_dataloader.batch_size=2',
        # the 128x256 test images at their size
        'train_dataloader.dataset.pipeline.2.scale=(256,128)',
        'test_dataloader.dataset.pipeline.1.scale=(256,128)',
        'val_dataloader.dataset.pipeline.1.scale=(256,128)',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={iters}',
    ]


#: Each demo config trains through one of the two train tools (both of
#: them, each once: four runs would double the time of this file).
TRAIN_RUNS = {'faster_rcnn': (DEMO_FASTER, 'ours'),
              'mask_rcnn': (DEMO_MASK, 'mmdet')}


@pytest.fixture(scope='module', params=sorted(TRAIN_RUNS))
def trained(request, demo_data, tmp_path_factory):
    """Train a demo config for ITERS iterations on the small demo data:
    the faster one with our ``tools/train.py``, the mask one with mmdet's
    own packaged ``tools/train.py`` (custom_imports finds hrseg_plugin
    through PYTHONPATH). Returns (config, work dir)."""
    config, tool = TRAIN_RUNS[request.param]
    work_dir = tmp_path_factory.mktemp(request.param)
    env = with_repo_on_path() if tool == 'mmdet' else None
    script = 'tools/train.py' if tool == 'ours' else stock_tool(
        'mmdet', 'train.py')
    run([script, config, '--work-dir', work_dir, '--cfg-options',
         *data_options(demo_data)], env, one_thread=True)
    return config, work_dir


def test_demo_trains_with_falling_loss(trained):
    _, work_dir = trained
    assert (work_dir / f'iter_{ITERS}.pth').is_file()
    assert_loss_falls(train_losses(work_dir), ITERS, 0.8)


def test_demo_test_reports_coco_map(trained, demo_data, tmp_path):
    config, work_dir = trained
    proc = run(['tools/test.py', config, work_dir / f'iter_{ITERS}.pth',
                '--work-dir', tmp_path / 'test', '--out', tmp_path / 'out',
                '--cfg-options', *data_options(demo_data)], one_thread=True)
    metrics = json.loads((tmp_path / 'out' / 'metrics.json').read_text())
    kinds = ['bbox', 'segm'] if config == DEMO_MASK else ['bbox']
    for kind in kinds:
        assert f'coco/{kind}_mAP:' in proc.stdout
        assert 0 <= metrics[f'coco/{kind}_mAP'] <= 1
    assert ('coco/segm_mAP' in metrics) == (config == DEMO_MASK)


def test_demo_infer_draws_predictions(trained, demo_data, tmp_path):
    """Boxes (and, for Mask R-CNN, masks) painted with mmdet's visualizer
    over the image, at the image's size."""
    config, work_dir = trained
    import cv2
    img = sorted((demo_data / 'coco' / 'val2017').glob('*.png'))[0]
    run(['tools/infer.py', config, work_dir / f'iter_{ITERS}.pth', img,
         '--out', tmp_path / 'vis', '--score-thr', '0.0', '--cfg-options',
         *data_options(demo_data)], one_thread=True)
    painted = cv2.imread(str(tmp_path / 'vis' / f'{img.stem}.png'))
    src = cv2.imread(str(img))
    assert painted.shape == src.shape
    assert np.abs(painted.astype(int) - src.astype(int)).mean() > 1
