"""configs/demo/pose_hrnet.py and configs/demo/cls_hrnet.py (issue 18) train
on the generated demo data through our ``tools/train.py`` and through the
library's own packaged train tool, the loss falls over a few real
iterations, and ``tools/test.py`` reports COCO keypoint AP / top-1.

Every run is a subprocess whose ``PYTHONPATH`` starts with the test-only
torchvision stub (tests/stub_site, see tests/torchvision_stub.py): where the
real torchvision cannot be imported, mmpose's registries (which import
mmpose.visualization) and mmpretrain's datasets and models could not be
loaded without it. The stub raises if a torchvision function is called:
the demo pipelines use none."""
import json
import os.path as osp
import subprocess
import sys
from pathlib import Path

import pytest

import torchvision_stub

REPO = Path(__file__).resolve().parents[1]
POSE = 'configs/demo/pose_hrnet.py'
CLS = 'configs/demo/cls_hrnet.py'
# enough iterations for the loss to fall clearly through the noise of a
# small batch (measured, seeds 0 and 1: the mean of the last 3 losses was
# 76-83% of the first 3 for pose, 81-90% after 12 classification steps)
ITERS = {POSE: 30, CLS: 20}


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """Demo scenes at the default size (the pedestrians must be tall enough
    for keypoints): 12 train, 4 val."""
    out = tmp_path_factory.mktemp('demo_pose_cls') / 'demo'
    subprocess.run([
        sys.executable, str(REPO / 'tools' / 'make_demo_data.py'), '--out',
        str(out), '--num-train', '12', '--num-val', '4'
    ], check=True, cwd=REPO, capture_output=True, timeout=300)
    return out


def schedule_options(config, batch_size):
    iters = ITERS[config]
    return [
        f'train_dataloader.batch_size={batch_size}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        # no validation while training: test.py's run below evaluates
        f'train_cfg.max_iters={iters}', 'train_cfg.val_interval=1000',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={iters}',
        # the full learning rate from the start (the configs warm up)
        'param_scheduler.0.start_factor=1.0',
    ]


def pose_options(demo):
    root = str(demo / 'coco') + '/'
    ann = root + 'annotations/person_keypoints_val2017.json'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
        *schedule_options(POSE, 8)
    ]


def cls_options(demo):
    root = str(demo / 'classification')
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        *schedule_options(CLS, 16)
    ]


def run(cmd):
    env = torchvision_stub.subprocess_env({'PYTHONUNBUFFERED': '1'},
                                          (str(REPO), ))
    env.pop('LOCAL_RANK', None)
    proc = subprocess.run([sys.executable, *map(str, cmd)], cwd=REPO,
                          env=env, capture_output=True, text=True,
                          timeout=900)
    if proc.returncode != 0:
        pytest.fail(f'{" ".join(map(str, cmd))} exited {proc.returncode}\n'
                    f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


def train_losses(work_dir):
    """The per-iteration total loss of the (only) run in ``work_dir``."""
    logs = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    assert logs, f'no training log under {work_dir}'
    records = [json.loads(line) for line in logs[-1].read_text().split('\n')
               if line.strip()]
    return [r['loss'] for r in records if 'loss' in r]


def assert_loss_falls(losses, config):
    assert len(losses) == ITERS[config], losses
    first, last = losses[:3], losses[-3:]
    assert sum(last) < 0.9 * sum(first), losses


def stock_tool(package):
    module = __import__(package)
    tool = osp.join(osp.dirname(module.__file__), '.mim', 'tools',
                    'train.py')
    assert osp.isfile(tool), tool
    return tool


@pytest.mark.slow
def test_pose_demo_trains_and_test_reports_keypoint_ap(demo, tmp_path):
    options = pose_options(demo)
    run(['tools/train.py', POSE, '--work-dir', tmp_path, '--cfg-options',
         *options])
    ckpt = tmp_path / f'iter_{ITERS[POSE]}.pth'
    assert ckpt.is_file()
    assert_loss_falls(train_losses(tmp_path), POSE)
    out = tmp_path / 'test_out'
    proc = run(['tools/test.py', POSE, ckpt, '--work-dir',
                tmp_path / 'test', '--out', out, '--cfg-options', *options])
    metrics = json.loads((out / 'metrics.json').read_text())
    assert 0 <= metrics['coco/AP'] <= 1
    assert f'coco/AP: {metrics["coco/AP"]:.4f}' in proc.stdout


@pytest.mark.slow
def test_pose_demo_trains_with_mmpose_train_tool(demo, tmp_path):
    run([stock_tool('mmpose'), POSE, '--work-dir', tmp_path,
         '--cfg-options', *pose_options(demo)])
    assert (tmp_path / f'iter_{ITERS[POSE]}.pth').is_file()
    assert_loss_falls(train_losses(tmp_path), POSE)


@pytest.mark.slow
def test_cls_demo_trains_and_test_reports_top1(demo, tmp_path):
    options = cls_options(demo)
    run(['tools/train.py', CLS, '--work-dir', tmp_path, '--cfg-options',
         *options])
    ckpt = tmp_path / f'iter_{ITERS[CLS]}.pth'
    assert ckpt.is_file()
    assert_loss_falls(train_losses(tmp_path), CLS)
    out = tmp_path / 'test_out'
    proc = run(['tools/test.py', CLS, ckpt, '--work-dir', tmp_path / 'test',
                '--out', out, '--cfg-options', *options])
    metrics = json.loads((out / 'metrics.json').read_text())
    assert 0 <= metrics['accuracy/top1'] <= 100
    assert f'accuracy/top1: {metrics["accuracy/top1"]:.4f}' in proc.stdout


@pytest.mark.slow
def test_cls_demo_trains_with_mmpretrain_train_tool(demo, tmp_path):
    run([stock_tool('mmpretrain'), CLS, '--work-dir', tmp_path,
         '--cfg-options', *cls_options(demo)])
    assert (tmp_path / f'iter_{ITERS[CLS]}.pth').is_file()
    assert_loss_falls(train_losses(tmp_path), CLS)
