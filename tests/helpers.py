"""Helpers shared by the tests (no fixtures: import them)."""
import contextlib
import importlib.util
import os.path as osp
import shutil
from pathlib import Path
from typing import Iterator, List

import cv2

import torch
import torch.nn as nn
import torch.nn.functional as F
from hrseg_plugin.utils import randomize_  # noqa: F401 (re-exported)


def rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b||."""
    return ((a - b).norm() / b.norm().clamp_min(1e-12)).item()


@contextlib.contextmanager
def count_batch_norms() -> Iterator[List[int]]:
    """Count the BatchNorm computations in a block of code: the calls of
    ``F.batch_norm``, which every ``_BatchNorm`` forward that does work
    makes (a norm folded into its conv returns its input untouched). Yields
    a list that gets one entry per call."""
    calls = []
    batch_norm = F.batch_norm

    def counting(*args, **kwargs):
        calls.append(1)
        return batch_norm(*args, **kwargs)

    F.batch_norm = counting
    try:
        yield calls
    finally:
        F.batch_norm = batch_norm


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Load ``src``'s state dict into ``dst`` strictly (same key layout)."""
    dst.load_state_dict(src.state_dict(), strict=True)


def stock_config(package: str, relpath: str) -> str:
    """Path of a config shipped inside an installed OpenMMLab package
    (``Config.fromfile`` takes ``mmseg::`` only inside ``_base_``)."""
    mod = __import__(package)
    return osp.join(osp.dirname(mod.__file__), '.mim', 'configs', relpath)


def import_path(name: str, path: str):
    """Import a file as module ``name``: for tools/*.py and the reference
    models under tests/reference (mmseg's wheel installs a top-level
    ``tests`` package, so ``tests.reference`` cannot be imported)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def error_line(proc, tool: str) -> str:
    """The one error line of a failed tool run, asserting that the run
    ended with one ``<tool>.py: error: ...`` line, no traceback, exit
    status 2 (the tools' contract for a user's mistake)."""
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f'{tool}.py: error: '), proc.stderr[-3000:]
    return last


def copy_work_dir(work_dir, tmp_path):
    """A copy of a trained work dir (the ``trained`` fixture) under
    ``tmp_path/work``, its ``last_checkpoint`` pointing into the copy."""
    copy = tmp_path / 'work'
    shutil.copytree(work_dir, copy)
    last = (copy / 'last_checkpoint').read_text().strip()
    (copy / 'last_checkpoint').write_text(str(copy / osp.basename(last)))
    return copy


def write_png(path, array):
    assert cv2.imwrite(str(path), array)
    return str(path)


def truncate(path):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) // 2])


def mmseg_scope_fixture():
    """An autouse fixture for a test module whose plain type names
    (``FCNHead``, ``CrossEntropyLoss``, ``ResNet``) are mmseg's: sets
    mmseg's default scope before each test, whatever scope a test that ran
    earlier in the same process (another module, a pytest-xdist worker's
    previous test) left behind. Use as ``_scope = mmseg_scope_fixture()``."""
    import pytest
    from mmengine.registry import init_default_scope

    @pytest.fixture(autouse=True)
    def _mmseg_scope():
        init_default_scope('mmseg')
        yield

    return _mmseg_scope


def check_benchmark_against_stock(config: str, origin: str) -> None:
    """tools/benchmark.py --compare-stock's steps on ``config`` at 64x64:
    the stock twin (its ``stock_equivalent``) converted with ``--from
    origin`` gives our outputs within 1e-4, the complexity count works, and
    both models run a training step."""
    from mmengine.config import Config

    from hrseg_plugin.apis import benchmark as bm
    stock_cfg = Config.fromfile(config).stock_equivalent
    ours = bm.random_model(config, shape=(64, 64))
    stock = bm.random_model(stock_cfg, shape=(64, 64))
    bm.load_stock_weights(ours, stock, origin)
    data = bm.make_inputs(ours, 2, (64, 64))
    assert bm.max_rel_error(bm.network_outputs(ours, data),
                            bm.network_outputs(stock, data)) <= 1e-4
    assert bm.count_complexity(ours, data)['gmacs'] > 0
    for model in (ours, stock):
        bm.make_step(model, data, 'train')()
