"""Stop training at the first iteration whose loss is NaN or infinite,
naming the loss term and the last checkpoint with finite weights."""
import math
import os.path as osp
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper

from hrseg_plugin.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite; training was stopped before the
    parameter update of that iteration."""


def _distributed() -> bool:
    from mmengine import dist
    return dist.get_world_size() > 1


def ranks_with_non_finite_loss(bad: bool) -> List[int]:
    """The ranks whose loss is not finite this iteration, agreed by all
    ranks (one all-reduce of a world-size vector; ``[0]`` or ``[]`` in a
    single process). Every rank must call it at every check: a rank that
    raised alone would leave the others waiting in the next gradient
    all-reduce forever."""
    from mmengine import dist
    world = dist.get_world_size()
    if world == 1:
        return [0] if bad else []
    flags = torch.zeros(world, device=dist.get_comm_device())
    flags[dist.get_rank()] = float(bad)
    dist.all_reduce(flags, op='sum')
    return [r for r, f in enumerate(flags.tolist()) if f > 0]


def non_finite_terms(log_vars: Dict[str, torch.Tensor]) -> Dict[str, float]:
    """The entries of ``log_vars`` (as returned by ``parse_losses``) that
    are not finite, as Python floats. One device sync for all terms."""
    names = [k for k, v in log_vars.items() if isinstance(v, torch.Tensor)]
    if not names:
        return {}
    values = torch.stack(
        [log_vars[k].detach().float().reshape(()) for k in names])
    if bool(torch.isfinite(values).all()):
        return {}
    return {
        k: float(v)
        for k, v in zip(names, values.tolist()) if not math.isfinite(v)
    }


def weight_summary(path: str) -> Tuple[bool, float]:
    """``(finite, largest |weight|)`` of a checkpoint file's state dict
    (floating-point tensors only; ``largest`` is over the finite values)."""
    from hrseg_plugin.utils.checkpoint_io import load_checkpoint_file
    ckpt = load_checkpoint_file(path)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    finite, largest = True, 0.0
    for value in state.values():
        if not (isinstance(value, torch.Tensor)
                and value.is_floating_point() and value.numel()):
            continue
        ok = torch.isfinite(value)
        if not bool(ok.all()):
            finite = False
        if bool(ok.any()):
            largest = max(largest, float(value[ok].abs().max()))
    return finite, largest


#: A weight this large in a checkpoint is a sign the training was already
#: diverging when it was written.
EXPLODING = 1e6


def checkpoints_report(folder: Optional[str]) -> str:
    """Which checkpoint of ``folder`` to resume from after a non-finite
    loss: the newest one whose weights are all finite (newer ones with
    NaN / Inf weights are named), with its largest weight, so that
    exploding weights (1e25) are seen before resuming from it."""
    from hrseg_plugin.utils.checkpoint_io import find_checkpoints
    paths = find_checkpoints(folder) if folder else []
    if not paths:
        return 'No checkpoint was written yet.'
    bad = []
    for i, path in enumerate(paths):
        try:
            finite, largest = weight_summary(path)
        except ValueError:
            bad.append(f'{osp.basename(path)} (unreadable)')
            continue
        if not finite:
            bad.append(f'{osp.basename(path)} (NaN/Inf weights)')
            continue
        text = (f'The last checkpoint with finite weights is {path} '
                f'(largest |weight| {largest:.3g})')
        if bad:
            text += f'; newer: {", ".join(bad)}'
        if largest > EXPLODING:
            older = paths[i + 1] if i + 1 < len(paths) else None
            text += ('; its weights are already exploding' +
                     (f', an older one may be safer: {older}'
                      if older else ''))
        return text + '.'
    return (f'No checkpoint in {folder} has finite weights: '
            f'{", ".join(bad)}.')


def _checkpoint_folder(runner) -> Optional[str]:
    for hook in getattr(runner, 'hooks', []):
        if isinstance(hook, CheckpointHook):
            out_dir = getattr(hook, 'out_dir', None)
            return out_dir if isinstance(out_dir, str) and \
                '://' not in out_dir else runner.work_dir
    return getattr(runner, 'work_dir', None)


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` as soon as a loss term is NaN/Inf.

    The check sits in the loss path: the model's ``parse_losses`` (called
    by ``train_step`` between the forward pass and
    ``optim_wrapper.update_params``) is wrapped for the duration of
    training, so the error is raised *before* the backward pass and the
    optimizer step. The weights, the optimizer state and the last saved
    checkpoint therefore never contain the garbage of that iteration.
    The message names the iteration (1-based, as in the log) and every
    non-finite term (``decode.loss_ce``, ``aux.loss_ce`` ...). In
    distributed training the ranks agree on the check every iteration (a
    tiny all-reduce), so that all of them stop together, naming the ranks
    whose loss was not finite, instead of the others hanging.

    Priority ``'VERY_HIGH'``: only ``before_train`` / ``after_train`` are
    used, the order matters little.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        original = model.parse_losses

        def parse_losses_checked(losses):
            loss, log_vars = original(losses)
            bad = non_finite_terms(log_vars)
            ranks = ranks_with_non_finite_loss(bool(bad))
            if ranks:
                if bad:
                    terms = ', '.join(f'{k}={v}' for k, v in bad.items()
                                      if k != 'loss') or \
                        f"loss={bad['loss']}"
                else:
                    terms = 'this rank\'s loss is finite'
                where = f' on rank(s) {ranks}, every rank stops here' \
                    if _distributed() else ''
                report = checkpoints_report(_checkpoint_folder(runner)) \
                    if is_main_process() else ''
                raise NonFiniteLossError(
                    f'non-finite loss at iteration {runner.iter + 1} '
                    f'(epoch {runner.epoch + 1}){where}: {terms}; training '
                    'stopped '
                    'before this update, so the weights and the last '
                    f'checkpoint are untouched. {report} Usual fixes: a '
                    'lower learning rate (a lower lr in the config, or '
                    '--cfg-options optim_wrapper.optimizer.lr=..., applies '
                    'on --resume) or a longer warm-up, gradient clipping '
                    '(optim_wrapper.clip_grad=dict(max_norm=...)), checking '
                    'the labels (hrseg_plugin.CheckSegLabels), or training '
                    'without --amp.')
            return loss, log_vars

        self._model = model
        self._original = original
        model.parse_losses = parse_losses_checked

    def after_train(self, runner) -> None:
        model = getattr(self, '_model', None)
        if model is not None and 'parse_losses' in vars(model):
            del model.parse_losses
        self._model = None
