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
