"""Helpers of the end-to-end tests (tools and stock tools run in
subprocesses on the demo data set): one copy, imported by every test file
that trains, tests or infers through a tool. The tests using them carry
``@pytest.mark.slow``; ``make test-fast`` leaves them out."""
import importlib
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

#: data-loader options for a 2-core machine: no worker processes
NO_WORKERS = [
    f'{loader}.{key}' for loader in ('train_dataloader', 'val_dataloader',
                                     'test_dataloader')
    for key in ('num_workers=0', 'persistent_workers=False')
]


def tool_env(env: Optional[Dict[str, str]] = None,
             one_thread: bool = False) -> Dict[str, str]:
    """The environment a tool runs in: ``env`` (default: this process's)
    without a ``LOCAL_RANK`` that pytest-under-torchrun would leak, with
    unbuffered output, and one torch thread when ``one_thread`` (runs side
    by side on the 2-core machine, or repeatable float reductions)."""
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED='1')
    env.pop('LOCAL_RANK', None)
    if one_thread:
        env['OMP_NUM_THREADS'] = '1'
    return env


def run(cmd: Sequence, env: Optional[Dict[str, str]] = None,
        timeout: int = 900, one_thread: bool = False,
        cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run ``cmd`` (``python`` is prepended when it starts with a ``.py``
    file) in the repository root; fail the test with the tail of its output
    unless it exits with 0.

    Returns:
        subprocess.CompletedProcess: with ``stdout`` and ``stderr`` as text.
    """
    cmd = [str(c) for c in cmd]
    if cmd[0].endswith('.py'):
        cmd = [sys.executable, *cmd]
    proc = subprocess.run(cmd, cwd=cwd, env=tool_env(env, one_thread),
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f'{" ".join(cmd)} exited {proc.returncode}\n'
                    f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


def stock_tool(scope: str, name: str) -> str:
    """Path of the tool ``name`` (``train.py``, ``test.py``) that the
    OpenMMLab package ``scope`` (mmseg, mmdet, mmpose, mmpretrain) ships in
    its ``.mim/tools`` folder."""
    package = importlib.import_module(scope)
    path = osp.join(osp.dirname(package.__file__), '.mim', 'tools', name)
    assert osp.isfile(path), path
    return path


def with_repo_on_path(env: Optional[Dict[str, str]] = None
                      ) -> Dict[str, str]:
    """``env`` with the repository first on PYTHONPATH: a stock tool then
    finds ``hrseg_plugin`` through the config's ``custom_imports``."""
    env = dict(os.environ if env is None else env)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep)
                       if p])
    return env


def cityscapes_roots(demo_data) -> List[str]:
    """``--cfg-options`` pointing a segmentation config's three data roots
    at the demo data's Cityscapes layout."""
    root = f'{demo_data}/cityscapes'
    return [f'{loader}.dataset.data_root={root}'
            for loader in ('train_dataloader', 'val_dataloader',
                           'test_dataloader')]


def coco_roots(demo_data) -> List[str]:
    """``--cfg-options`` pointing a detection config's data roots and COCO
    evaluators at the demo data's COCO layout."""
    root = f'{demo_data}/coco/'
    ann = f'{root}annotations/instances_val2017.json'
    return [f'{loader}.dataset.data_root={root}'
            for loader in ('train_dataloader', 'val_dataloader',
                           'test_dataloader')] + [
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']


def train_losses(work_dir) -> List[float]:
    """The per-iteration total loss of the last run in ``work_dir``."""
    logs = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    assert logs, f'no training log under {work_dir}'
    records = [json.loads(line) for line in logs[-1].read_text().splitlines()
               if line.strip()]
    return [r['loss'] for r in records if 'loss' in r]


def assert_loss_falls(losses: List[float], iters: int,
                      factor: float) -> None:
    """``iters`` finite losses whose last three average below ``factor``
    times the first three's."""
    assert len(losses) == iters, losses
    assert all(np.isfinite(losses)), losses
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    assert last < factor * first, losses


def short_seg_training(demo_data, iters: int) -> List[str]:
    """``--cfg-options`` for a short training of a demo segmentation config
    on the demo data: batch 2, no loader workers, ``iters`` iterations with
    a loss logged at each and a checkpoint at the last, no validation, and
    the full learning rate from the start (the demo configs warm up over 20
    iterations)."""
    return [
        *cityscapes_roots(demo_data), *NO_WORKERS,
        'train_dataloader.batch_size=2',
        f'train_cfg.max_iters={iters}', 'train_cfg.val_interval=1000',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={iters}',
        'param_scheduler.0.start_factor=1.0',
    ]


def run_tool(tool, *args, expect_rc=0, timeout=300):
    """Run ``tools/<tool>.py ARGS`` and return the CompletedProcess; fail
    with its output when the exit status is not ``expect_rc``."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    env.pop('LOCAL_RANK', None)
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / f'{tool}.py'),
         *map(str, args)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout)
    if expect_rc is not None and proc.returncode != expect_rc:
        pytest.fail(f'{tool}.py {" ".join(map(str, args))} exited with '
                    f'{proc.returncode}, expected {expect_rc}\n'
                    f'--- stdout ---\n{proc.stdout[-6000:]}\n'
                    f'--- stderr ---\n{proc.stderr[-6000:]}')
    return proc


def read_scalars(work_dir):
    """The training records of ``<work_dir>/<timestamp>/vis_data/
    scalars.json`` of every run in the work dir, oldest run first."""
    runs = []
    for ts in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, ts, 'vis_data', 'scalars.json')
        if osp.isfile(path):
            with open(path) as f:
                records = [json.loads(line) for line in f if line.strip()]
            runs.append([r for r in records if 'loss' in r])
    return runs
