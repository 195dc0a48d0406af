import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

import torchvision_stub  # noqa: E402 (tests/ is on the path from here on)

# TEST PROCESS ONLY: where the real torchvision cannot be imported (no build
# works with the pinned CPU torch), answer `import torchvision` with the
# stub of tests/torchvision_stub.py, which raises as soon as anything calls
# into it. timm, mmpretrain.models and mmpose.apis import torchvision at
# module level without using it for what the tests run. With a working
# torchvision nothing is installed. hrseg_plugin never imports torchvision
# (tests/test_classification.py checks it in a clean interpreter).
TORCHVISION_STUB_REASON = torchvision_stub.install_if_unusable()


def pytest_report_header(config):
    if TORCHVISION_STUB_REASON:
        return ('torchvision: test-only stub (tests/torchvision_stub.py): '
                f'{TORCHVISION_STUB_REASON}')
    return None


@pytest.fixture(scope='session')
def repo_root():
    return ROOT


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """A small demo data set (``tools/make_demo_data.py``: 8 train and 4 val
    street scenes of 128x256, Cityscapes layout under ``cityscapes/`` and
    COCO under ``coco/``), generated once per test session; the demo
    configs train on it with ``--cfg-options`` pointing their data roots
    here."""
    out = tmp_path_factory.mktemp('demo_data') / 'demo'
    subprocess.run([
        sys.executable,
        os.path.join(ROOT, 'tools', 'make_demo_data.py'), '--out',
        str(out), '--num-train', '8', '--num-val', '4', '--size', '128',
        '256'
    ],
                   check=True,
                   cwd=ROOT,
                   capture_output=True,
                   timeout=300)
    return out


@pytest.fixture(scope='session')
def tiny(tmp_path_factory):
    """The tiny Cityscapes-layout data set (four 64x128 train and two val
    images) and stock mmseg config of tests/test_tools.py; returns the
    config's path (the data is ``<its folder>/cityscapes``)."""
    import cv2
    import numpy as np
    from test_tools import SEG_CONFIG, make_seg_sample, write_config
    root = tmp_path_factory.mktemp('tiny')
    data = root / 'cityscapes'
    rng = np.random.default_rng(0)
    for split, n in (('train', 4), ('val', 2)):
        img_dir = data / 'leftImg8bit' / split / 'tinycity'
        ann_dir = data / 'gtFine' / split / 'tinycity'
        img_dir.mkdir(parents=True)
        ann_dir.mkdir(parents=True)
        for i in range(n):
            img, label = make_seg_sample(rng)
            name = f'tinycity_{i:06d}_000019'
            cv2.imwrite(str(img_dir / f'{name}_leftImg8bit.png'), img)
            cv2.imwrite(str(ann_dir / f'{name}_gtFine_labelTrainIds.png'),
                        label)
    return write_config(root / 'tiny_seg.py', SEG_CONFIG, data_root=str(data))


@pytest.fixture(scope='session')
def trained(tiny, tmp_path_factory):
    """A work dir of the ``tiny`` config trained 4 iterations by
    tools/train.py, checkpoints at 2 and 4 (copy it before changing it:
    helpers.copy_work_dir)."""
    from e2e import run_tool
    work_dir = tmp_path_factory.mktemp('trained')
    run_tool('train', tiny, '--work-dir', work_dir, '--cfg-options',
             'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=2')
    assert (work_dir / 'iter_2.pth').is_file()
    return work_dir
