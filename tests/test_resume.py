"""Nothing is lost when training is killed, and runs repeat exactly.

* A real ``tools/train.py`` run of ``configs/demo/hrnet_ocr.py`` is killed
  with SIGKILL after its 4th-iteration checkpoint appears, resumed with
  ``--resume``, and must end with exactly the weights (and optimizer state)
  of an uninterrupted run of the same length (deterministic mode, seed 0).
* The same two runs, with the same seed, log identical losses at every
  iteration (repeatability).
* A SIGKILL in the middle of a checkpoint write leaves ``last_checkpoint``
  naming a complete, loadable file (``hrseg_plugin.AtomicCheckpointHook``);
  the stock ``CheckpointHook`` fails the same check; the same hook's
  ``save_best`` keeps the previous best until the new one is complete.
"""
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from e2e import NO_WORKERS, REPO, cityscapes_roots, run, tool_env
from toy_training import ToyLossModel

CONFIG = 'configs/demo/hrnet_ocr.py'
MAX_ITERS = 8
INTERVAL = 2
KILL_AFTER = 4  # kill once iter_4.pth exists


def train_cmd(work_dir, demo_data, *extra):
    return [
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), *extra, '--cfg-options',
        *cityscapes_roots(demo_data), *NO_WORKERS,
        'train_dataloader.batch_size=2',
        'train_dataloader.dataset.pipeline.2.scale=(256,128)',
        'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
        'model.data_preprocessor.size=(64,64)',
        f'train_cfg.max_iters={MAX_ITERS}', 'train_cfg.val_interval=1000',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={INTERVAL}',
        'default_hooks.checkpoint.max_keep_ckpts=2',
        'randomness.seed=0', 'randomness.deterministic=True'
    ]


def env():
    # the same thread count in every run: float reductions then repeat
    return tool_env(one_thread=True)


def run_ok(cmd):
    return run(cmd, timeout=600, one_thread=True)


def logged_losses(work_dir):
    """{iteration: loss} over every run (timestamp folder) in work_dir."""
    losses = {}
    for log in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        for line in log.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                if 'loss' in rec:
                    losses.setdefault(rec['iter'], []).append(rec['loss'])
    return losses


def load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


@pytest.fixture(scope='module')
def runs(demo_data, tmp_path_factory):
    """An uninterrupted run, and a run killed with SIGKILL then resumed."""
    # the two first runs side by side (one thread each): same results, half
    # the wall time on a 2-core machine
    full = tmp_path_factory.mktemp('full')
    full_log = open(full / 'console.log', 'w')
    full_proc = subprocess.Popen(
        train_cmd(full, demo_data), cwd=REPO, env=env(), stdout=full_log,
        stderr=subprocess.STDOUT)

    killed = tmp_path_factory.mktemp('killed')
    killed_log = open(tmp_path_factory.mktemp('logs') / 'killed.log', 'w')
    proc = subprocess.Popen(
        train_cmd(killed, demo_data), cwd=REPO, env=env(),
        stdout=killed_log, stderr=subprocess.STDOUT)
    target = killed / f'iter_{KILL_AFTER}.pth'
    deadline = time.time() + 600
    while not target.exists() and proc.poll() is None \
            and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    killed_log.close()
    assert proc.returncode == -signal.SIGKILL, (
        f'the run was not killed mid-training (exit {proc.returncode}); '
        f'{Path(killed_log.name).read_text()[-3000:]}')
    assert target.exists()
    assert not (killed / f'iter_{MAX_ITERS}.pth').exists()
    before_resume = logged_losses(killed)
    full_proc.wait(timeout=600)
    full_log.close()
    assert full_proc.returncode == 0, \
        (full / 'console.log').read_text()[-5000:]

    resume = run_ok(train_cmd(killed, demo_data, '--resume'))
    return dict(full=full, killed=killed, before_resume=before_resume,
                resume_log=resume.stdout + resume.stderr)


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_uninterrupted_weights(runs):
    full = load(runs['full'] / f'iter_{MAX_ITERS}.pth')
    resumed = load(runs['killed'] / f'iter_{MAX_ITERS}.pth')
    # it really resumed from a checkpoint (iter 4, or iter 2 when the kill
    # came before last_checkpoint was updated), not from scratch, and
    # mmengine replayed the sampler to the same position
    found = re.search(r'resumed epoch: \d+, iter: (\d+)', runs['resume_log'])
    assert found and int(found.group(1)) in (INTERVAL, KILL_AFTER), \
        runs['resume_log'][-3000:]
    assert f'Advance dataloader {found.group(1)} steps' in runs['resume_log']
    assert resumed['meta']['iter'] == full['meta']['iter'] == MAX_ITERS
    a, b = full['state_dict'], resumed['state_dict']
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f'{len(differ)} tensors differ, e.g. {differ[:5]}'
    # the optimizer state too (AdamW moments)
    sa, sb = full['optimizer']['state'], resumed['optimizer']['state']
    assert sa.keys() == sb.keys()
    for k in sa:
        for name, value in sa[k].items():
            assert torch.equal(torch.as_tensor(value),
                               torch.as_tensor(sb[k][name])), (k, name)


@pytest.mark.slow
def test_same_seed_runs_log_identical_losses(runs):
    full = logged_losses(runs['full'])
    assert sorted(full) == list(range(1, MAX_ITERS + 1))
    # the killed run up to the kill: a second run with the same seed
    before = runs['before_resume']
    assert len(before) >= KILL_AFTER
    for it, values in before.items():
        assert values == full[it], (it, values, full[it])
    # after the resume, every iteration logged again equals the original
    resumed = logged_losses(runs['killed'])
    assert max(resumed) == MAX_ITERS
    for it, values in resumed.items():
        assert set(values) == set(full[it]), (it, values, full[it])


@pytest.mark.slow
def test_no_partial_checkpoint_left_behind(runs):
    for folder in (runs['full'], runs['killed']):
        last = (folder / 'last_checkpoint').read_text().strip()
        assert Path(last).name == f'iter_{MAX_ITERS}.pth'
        load(last)  # readable
        # max_keep_ckpts=2, deleted only after the newer one is complete
        kept = sorted(p.name for p in folder.glob('iter_*.pth'))
        assert kept == [f'iter_{MAX_ITERS - INTERVAL}.pth',
                        f'iter_{MAX_ITERS}.pth'], kept


# --------------------------------------------------------------------------
# a kill during a checkpoint write
# --------------------------------------------------------------------------
KILL_DURING_WRITE = textwrap.dedent('''
    import os, signal, sys
    import torch
    from mmengine.fileio.backends import LocalBackend
    from mmengine.runner import Runner
    from mmengine.model import BaseModel
    import hrseg_plugin  # registers the hooks

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 1)
        def forward(self, x, y=None, mode='loss'):
            x = torch.stack(x) if isinstance(x, list) else x
            return dict(loss=(self.fc(x) ** 2).mean())

    data = [dict(x=torch.randn(4)) for _ in range(8)]
    saves = []
    put = LocalBackend.put
    def put_then_die(self, obj, filepath):
        saves.append(filepath)
        if len(saves) == 3:  # the 3rd checkpoint: half written, then killed
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        put(self, obj, filepath)
    LocalBackend.put = put_then_die

    runner = Runner(
        model=Toy(), work_dir=sys.argv[1],
        train_dataloader=dict(
            dataset=data, sampler=dict(type='InfiniteSampler'),
            batch_size=2, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=5),
        default_hooks=dict(checkpoint=dict(
            type=sys.argv[2], by_epoch=False, interval=1,
            max_keep_ckpts=1)),
        default_scope='mmengine')
    runner.train()
''')


@pytest.mark.slow
@pytest.mark.parametrize('hook, safe', [
    ('hrseg_plugin.AtomicCheckpointHook', True),
    ('CheckpointHook', False),  # the stock hook: shows the test can fail
])
def test_kill_during_checkpoint_write_keeps_latest_readable(
        tmp_path, hook, safe):
    script = tmp_path / 'kill_during_write.py'
    script.write_text(KILL_DURING_WRITE)
    work = tmp_path / 'work'
    proc = subprocess.run([sys.executable, str(script), str(work), hook],
                          cwd=REPO, env=env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    last = (work / 'last_checkpoint').read_text().strip()

    def readable():
        try:
            ckpt = load(last)
        except Exception:
            return False
        return ckpt['meta']['iter'] == 2

    assert readable() is safe, (hook, last, sorted(os.listdir(work)))
    if safe:
        # the half-written file is a hidden temporary, never iter_3.pth
        assert not (work / 'iter_3.pth').exists()


class _Score:
    """A metric giving the scores of ``values`` in turn (mmengine's
    evaluator interface)."""

    def __init__(self, values):
        self.values = list(values)
        self.dataset_meta = None

    def process(self, data_batch, data_samples):
        pass

    def evaluate(self, size):
        return dict(score=self.values.pop(0))


class _ToyPredictModel(ToyLossModel):

    def forward(self, x, mode='loss'):
        if mode == 'loss':
            return super().forward(x, mode)
        return [None] * len(x)  # predictions: the metric ignores them


def test_save_best_is_atomic(tmp_path):
    """save_best writes the new best atomically and removes the previous
    one only after: a failure (a kill) during the write keeps the old best
    readable, where the stock hook deletes it first."""
    from mmengine.evaluator import Evaluator
    from mmengine.runner import Runner
    data = [dict(x=torch.randn(4)) for _ in range(8)]
    loader = dict(dataset=data, sampler=dict(type='DefaultSampler',
                                             shuffle=False),
                  batch_size=2, collate_fn=dict(type='default_collate'))
    runner = Runner(
        model=_ToyPredictModel(bad_iter=10**6), work_dir=str(tmp_path),
        train_dataloader=dict(loader, sampler=dict(type='InfiniteSampler')),
        val_dataloader=loader, val_cfg=dict(),
        val_evaluator=Evaluator([_Score([0.1, 0.5, 0.3])]),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=6, val_interval=2),
        default_hooks=dict(checkpoint=dict(
            type='hrseg_plugin.AtomicCheckpointHook', by_epoch=False,
            interval=2, save_best='score', rule='greater')),
        default_scope='mmengine')
    runner.train()
    best = sorted(p.name for p in tmp_path.glob('best_*.pth'))
    assert best == ['best_score_iter_4.pth']  # 0.5 at iteration 4
    hook = next(h for h in runner.hooks
                if type(h).__name__ == 'AtomicCheckpointHook')

    def killed(*args, **kwargs):
        raise KeyboardInterrupt('killed during the write')

    runner.save_checkpoint = killed  # the hook's writer calls this one
    with pytest.raises(KeyboardInterrupt):
        hook._save_best_checkpoint(runner, dict(score=0.9))
    assert sorted(p.name for p in tmp_path.glob('best_*')) == best
    assert not list(tmp_path.glob('.*tmp*'))
    torch.load(tmp_path / best[0], map_location='cpu', weights_only=False)
