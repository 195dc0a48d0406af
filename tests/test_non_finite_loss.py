"""A NaN / Inf loss stops training at its iteration (on every rank), on a
toy model and through tools/train.py; an all-ignore crop keeps the loss
finite and CPU AMP keeps the demo losses finite (issue 7)."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import hrseg_plugin  # noqa: F401  (registers)
from hrseg_plugin.engine import NonFiniteLossError, NonFiniteLossHook

from e2e import NO_WORKERS, cityscapes_roots, tool_env
from demo_models import build_demo_model, seg_batch
from toy_training import ToyLossModel, toy_runner

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_loss_stops_at_its_iteration(tmp_path, value):
    model = ToyLossModel(bad_iter=3, bad_value=value)
    runner = toy_runner(tmp_path, model, with_hook=True)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    msg = str(err.value)
    assert 'non-finite loss at iteration 3 ' in msg, msg
    assert f'loss_b={value}' in msg and 'loss_a' not in msg, msg
    assert model.calls == 3
    # no update with the garbage: the weights are those iteration 3 saw
    for k, v in model.state_dict().items():
        assert torch.equal(v, model.seen[-1][k]), k
    assert torch.isfinite(model.fc.weight).all()
    # the last checkpoint is that of iteration 2, and finite
    last = (tmp_path / 'last_checkpoint').read_text().strip()
    assert Path(last).name == 'iter_2.pth'


def test_without_the_hook_training_goes_on_with_garbage(tmp_path):
    """The counter-check: the stock runner trains on through the NaN."""
    model = ToyLossModel(bad_iter=3)
    toy_runner(tmp_path, model, with_hook=False).train()
    assert model.calls == 6
    assert not torch.isfinite(model.fc.weight).all()


@pytest.mark.slow
def test_hook_is_in_the_demo_configs_and_train_py_reports_it(demo_data,
                                                             tmp_path):
    """Through the stock path: tools/train.py with the demo config whose OCR
    loss weight is NaN stops at iteration 1 with one error line naming the
    term, and writes no checkpoint."""
    cmd = [
        sys.executable, 'tools/train.py', 'configs/demo/hrnet_ocr.py',
        '--work-dir', str(tmp_path), '--cfg-options',
        # the runner builds the val loop at the start of training: a fresh
        # clone has no data/demo, so point val at the fixture too
        *cityscapes_roots(demo_data), *NO_WORKERS,
        'train_dataloader.batch_size=1',
        'train_dataloader.dataset.pipeline.2.scale=(256,128)',
        'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
        'model.data_preprocessor.size=(64,64)', 'train_cfg.max_iters=3',
        'train_cfg.val_interval=1000', 'default_hooks.checkpoint.interval=1',
        'model.decode_head.1.loss_decode.loss_weight=nan'
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=tool_env(), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('train.py: error: training stopped: non-finite '
                           'loss at iteration 1 '), last
    assert 'decode_1.loss_ce=nan' in last and 'decode_0' not in last, last
    assert 'Traceback' not in proc.stderr
    assert not list(tmp_path.glob('iter_*.pth'))


def test_hook_stops_a_detector_on_a_non_finite_loss_term():
    """The hook wraps any mmengine model's parse_losses: an mmdet detector
    of the demo config stops on its first NaN term, named."""
    from types import SimpleNamespace

    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = Config.fromfile(
        str(REPO / 'configs' / 'demo' / 'faster_rcnn_hrnetv2p_w18.py'))
    model = MODELS.build(cfg.model)
    NonFiniteLossHook().before_train(
        SimpleNamespace(model=model, iter=6, epoch=0))
    finite = dict(loss_rpn_cls=torch.tensor(0.5), loss_bbox=torch.tensor(1.))
    loss, _ = model.parse_losses(finite)
    assert loss.item() == 1.5
    with pytest.raises(NonFiniteLossError,
                       match='non-finite loss at iteration 7 .*'
                       'loss_bbox=nan'):
        model.parse_losses(dict(finite, loss_bbox=torch.tensor(float('nan'))))


@pytest.mark.slow
def test_all_ignore_crop_gives_finite_loss_and_gradients():
    for name in ('hrnet_ocr', 'bisenet_r18'):
        model = build_demo_model(name)
        model.train()
        model.data_preprocessor.size = (64, 64)  # no padding to the crop
        data = model.data_preprocessor(
            seg_batch(64, 64, label_value=255, n=2), True)
        losses = model(**data, mode='loss')
        loss, log_vars = model.parse_losses(losses)
        assert torch.isfinite(loss), (name, log_vars)
        loss.backward()
        for pname, p in model.named_parameters():
            if p.grad is not None:
                assert torch.isfinite(p.grad).all(), (name, pname)


@pytest.mark.slow
def test_cpu_amp_keeps_demo_losses_finite():
    from hrseg_plugin.apis import register_cpu_amp_optim_wrapper
    wrapper_cls = register_cpu_amp_optim_wrapper()
    for name in ('hrnet_ocr', 'bisenet_r18'):
        model = build_demo_model(name)
        model.train()
        model.data_preprocessor.size = (64, 64)  # no padding to the crop
        wrapper = wrapper_cls(
            optimizer=torch.optim.AdamW(model.parameters(), lr=2e-3))
        for _ in range(2):
            log_vars = model.train_step(seg_batch(64, 64, n=2), wrapper)
            assert all(torch.isfinite(v) for v in log_vars.values()), (
                name, log_vars)
        for pname, p in model.named_parameters():
            assert torch.isfinite(p).all(), (name, pname)


def _nan_on_rank_one(rank, world, init_file, out_dir):
    import torch.distributed as torch_dist
    torch_dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank,
        world_size=world)
    from types import SimpleNamespace
    model = ToyLossModel(bad_iter=1 if rank == 1 else 10**6)
    runner = SimpleNamespace(model=model, iter=4, epoch=0)
    NonFiniteLossHook().before_train(runner)
    value = float('nan') if rank == 1 else 1.0
    try:
        model.parse_losses(dict(loss_a=torch.tensor(value)))
        outcome = 'no error'
    except NonFiniteLossError as err:
        outcome = str(err)
    (Path(out_dir) / f'rank{rank}.txt').write_text(outcome)
    torch_dist.destroy_process_group()


@pytest.mark.slow
def test_non_finite_loss_on_one_rank_stops_every_rank(tmp_path):
    """A NaN on rank 1 only: both ranks raise at that iteration (rank 0
    alone going on would wait in the next gradient all-reduce forever),
    and the message names the rank."""
    import torch.multiprocessing as mp
    mp.start_processes(
        _nan_on_rank_one, args=(2, str(tmp_path / 'init'), str(tmp_path)),
        nprocs=2, join=True, start_method='spawn')
    for rank in (0, 1):
        msg = (tmp_path / f'rank{rank}.txt').read_text()
        assert 'non-finite loss at iteration 5 ' in msg, msg
        assert 'on rank(s) [1], every rank stops here' in msg, msg
    assert 'loss_a=nan' in (tmp_path / 'rank1.txt').read_text()
    assert "this rank's loss is finite" in (tmp_path /
                                             'rank0.txt').read_text()
