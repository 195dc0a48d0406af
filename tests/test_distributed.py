"""Data-parallel training of configs/demo/hrnet_ocr.py with PyTorch's own
distributed engine on CPU: ``tools/dist_train.sh`` (torchrun,
``--launcher pytorch``), gloo chosen by ``tools/train.py`` because CUDA is
unavailable, 2 processes of batch 1.

* BN (the config's SyncBN, turned into BN on CPU): both ranks finish, the
  loss falls, both ranks hold identical parameters and rank 0's
  checkpoint holds them; BN running statistics are per rank (they are
  computed from each rank's own batch and not synchronised).
* Where the equivalence holds, i.e. with a normalisation that does not mix
  samples (GroupNorm), 2 processes x batch 1 give the weights of one
  process x batch 2, and of one process x batch 1 with
  ``optim_wrapper.accumulative_counts=2`` over twice the iterations.
* ``--amp`` with gradient accumulation: the optimizer steps every second
  iteration.

The runs use a deterministic pipeline (no random resize, crop or flip), so
that every process sees the same pixels for the same sample index.
"""
import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

from e2e import REPO, run, short_seg_training, train_losses

CONFIG = 'configs/demo/hrnet_ocr.py'
pytestmark = pytest.mark.slow

#: the probe hook, written next to the test's config and imported by it
#: through custom_imports: each rank saves its parameters and buffers
HOOK_MODULE = '''
import os.path as osp

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module(force=True)
class SaveRankStateHook(Hook):
    """Save this rank's parameters and buffers to
    <work_dir>/rank<r>_of_<world>.pth after training."""

    def after_train(self, runner):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        torch.save(
            dict(params={k: v.detach().clone()
                         for k, v in model.named_parameters()},
                 buffers={k: v.detach().clone()
                          for k, v in model.named_buffers()}),
            osp.join(runner.work_dir,
                     f'rank{get_rank()}_of_{get_world_size()}.pth'))
'''


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def write_probe_config(tmp_path):
    """A config inheriting the demo config plus the probe hook."""
    (tmp_path / 'rank_state_probe.py').write_text(HOOK_MODULE)
    cfg = tmp_path / 'demo_probe.py'
    cfg.write_text(
        textwrap.dedent(f'''\
        _base_ = {str(REPO / CONFIG)!r}
        custom_imports = dict(
            imports=['hrseg_plugin', 'rank_state_probe'],
            allow_failed_imports=False)
        # a new key of default_hooks (a dict, merged with the base's): the
        # demo config's own custom_hooks stay as they are
        default_hooks = dict(rank_state=dict(type='SaveRankStateHook'))
        '''))
    return cfg


def options(demo_data, iters, batch_size=1, extra=()):
    """``e2e.short_seg_training`` options, with: ``batch_size`` per
    process, ``iters`` iterations, no validation, a checkpoint at every
    iteration, and a deterministic 64x128 pipeline."""
    return [
        *short_seg_training(demo_data, iters),
        f'train_dataloader.batch_size={batch_size}',
        f'train_cfg.max_iters={iters}',
        'train_cfg.val_begin=100000',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        # RandomResize to a fixed 64x128, RandomCrop of the whole image,
        # no flip: the same pixels whatever the process's random state
        'train_dataloader.dataset.pipeline.2.scale=(128,64)',
        'train_dataloader.dataset.pipeline.2.ratio_range=(1.0,1.0)',
        'train_dataloader.dataset.pipeline.3.crop_size=(64,128)',
        'train_dataloader.dataset.pipeline.4.prob=0.0',
        'model.data_preprocessor.size=(64,128)',
        *extra,
    ]


def env_for(probe_dir):
    env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHON=sys.executable)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (str(probe_dir), env.get('PYTHONPATH')) if p)
    for key in ('LOCAL_RANK', 'RANK', 'WORLD_SIZE', 'MASTER_ADDR',
                'MASTER_PORT', 'NNODES', 'NODE_RANK'):
        env.pop(key, None)
    env['PORT'] = str(free_port())
    return env


def dist_train(config, nproc, work_dir, opts, probe_dir):
    return run([
        'bash', 'tools/dist_train.sh', str(config),
        str(nproc), '--work-dir',
        str(work_dir), '--cfg-options', *opts
    ], env_for(probe_dir))


def single_cmd(config, work_dir, opts, *extra_args):
    return [
        sys.executable, 'tools/train.py',
        str(config), '--work-dir',
        str(work_dir), *extra_args, '--cfg-options', *opts
    ]


def single_train(config, work_dir, opts, probe_dir, *extra_args):
    return run(single_cmd(config, work_dir, opts, *extra_args),
               env_for(probe_dir))


def run_concurrently(cmds, probe_dir):
    """Run single-process trainings side by side, one thread each (the
    2-core CI machine), and fail with the output of any that fails."""
    env = dict(env_for(probe_dir), OMP_NUM_THREADS='1')
    procs = [
        subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True) for cmd in cmds
    ]
    outs = [p.communicate(timeout=900)[0] for p in procs]
    for cmd, p, out in zip(cmds, procs, outs):
        if p.returncode != 0:
            pytest.fail(f'{" ".join(map(str, cmd))} exited {p.returncode}'
                        f'\n{out[-5000:]}')


def load_state(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def checkpoint_params(path, names):
    state = load_state(path)['state_dict']
    return {k: state[k] for k in names}


def max_abs_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


GN = [
    # GroupNorm(1, C) everywhere: normalises each sample on its own
    'model.backbone.norm_cfg.type=GN', 'model.backbone.norm_cfg.num_groups=1',
    'model.decode_head.0.norm_cfg.type=GN',
    'model.decode_head.0.norm_cfg.num_groups=1',
    'model.decode_head.1.norm_cfg.type=GN',
    'model.decode_head.1.norm_cfg.num_groups=1',
    # SGD: Adam's first steps move every weight by about +-lr whatever the
    # gradient's size, which turns float rounding of near-zero gradients
    # into differences of the order of lr
    'optim_wrapper.optimizer.type=SGD', 'optim_wrapper.optimizer.lr=0.05',
]


def test_two_process_ddp_training_bn(demo_data, tmp_path):
    iters = 6
    cfg = write_probe_config(tmp_path)
    work = tmp_path / 'ddp_bn'
    proc = dist_train(cfg, 2, work, options(demo_data, iters), tmp_path)
    log = proc.stdout + proc.stderr
    # the CPU adaptations of tools/train.py are logged
    assert 'distributed backend nccl -> gloo' in log, log[-3000:]
    assert 'SyncBN setting(s) of the config -> BN' in log
    assert 'rank 0 of 2, backend gloo' in log
    assert 'rank 1 of 2, backend gloo' in log

    # both ranks finished training
    r0 = load_state(work / 'rank0_of_2.pth')
    r1 = load_state(work / 'rank1_of_2.pth')
    # rank 0 logged a falling loss (its own batches)
    losses = train_losses(work)
    assert len(losses) == iters, losses
    assert sum(losses[-2:]) < 0.9 * sum(losses[:2]), losses
    # DDP all-reduces the gradients: identical parameters on both ranks ...
    for k, v in r0['params'].items():
        assert torch.equal(v, r1['params'][k]), k
    # ... which the checkpoint of rank 0 holds
    ckpt = checkpoint_params(work / f'iter_{iters}.pth', r0['params'])
    assert max_abs_diff(ckpt, r0['params']) == 0
    # the parameters did change
    first = checkpoint_params(work / 'iter_1.pth', r0['params'])
    assert max_abs_diff(first, r0['params']) > 0
    # BN running statistics are per rank (BN, not SyncBN, on CPU)
    means = [k for k in r0['buffers'] if k.endswith('running_mean')]
    assert means
    assert any(not torch.equal(r0['buffers'][k], r1['buffers'][k])
               for k in means)


def test_ddp_equals_big_batch_and_accumulation_with_groupnorm(
        demo_data, tmp_path):
    iters = 2
    cfg = write_probe_config(tmp_path)
    ddp, big, acc = (tmp_path / n for n in ('ddp', 'big', 'acc'))
    dist_train(cfg, 2, ddp, options(demo_data, iters, extra=GN), tmp_path)
    run_concurrently([
        single_cmd(cfg, big, options(demo_data, iters, 2, extra=GN)),
        single_cmd(
            cfg, acc,
            options(
                demo_data,
                2 * iters,
                1,
                extra=GN + ['optim_wrapper.accumulative_counts=2'])),
    ], tmp_path)

    ref = load_state(big / 'rank0_of_1.pth')['params']
    ddp0 = load_state(ddp / 'rank0_of_2.pth')['params']
    ddp1 = load_state(ddp / 'rank1_of_2.pth')['params']
    accp = load_state(acc / 'rank0_of_1.pth')['params']
    start = checkpoint_params(big / 'iter_1.pth', ref)
    moved = max_abs_diff(start, ref)
    assert moved > 1e-3, moved
    # 2 processes x batch 1 == 1 process x batch 2 (float tolerance)
    d_ddp = max_abs_diff(ddp0, ref)
    assert d_ddp < 1e-5, (d_ddp, moved)
    assert max_abs_diff(ddp0, ddp1) == 0
    # batch 1 x 2 accumulated iterations == batch 2
    d_acc = max_abs_diff(accp, ref)
    print(f'max |w - w_ref|: 2x1 DDP {d_ddp:.3g}, 1x1 accumulated '
          f'{d_acc:.3g}; weights moved by {moved:.3g}')
    assert d_acc < 1e-5, (d_acc, moved)


def test_amp_with_gradient_accumulation(demo_data, tmp_path):
    cfg = write_probe_config(tmp_path)
    work = tmp_path / 'amp_acc'
    proc = single_train(
        cfg, work,
        options(demo_data, 4, 1, ['optim_wrapper.accumulative_counts=2']),
        tmp_path, '--amp')
    assert 'CPUAmpOptimWrapper' in proc.stdout + proc.stderr
    names = load_state(work / 'rank0_of_1.pth')['params']
    p = [checkpoint_params(work / f'iter_{i}.pth', names)
         for i in range(1, 5)]
    # the optimizer steps after iterations 2 and 4 only
    assert max_abs_diff(p[0], p[1]) > 0
    assert max_abs_diff(p[1], p[2]) == 0
    assert max_abs_diff(p[2], p[3]) > 0
    losses = train_losses(work)
    assert len(losses) == 4 and all(0 < x < 100 for x in losses), losses
