"""Stop training at the first iteration whose loss is NaN or infinite."""
import math
from typing import Dict, List

import torch
from mmengine.hooks import Hook
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
                raise NonFiniteLossError(
                    f'non-finite loss at iteration {runner.iter + 1} '
                    f'(epoch {runner.epoch + 1}){where}: {terms}; training '
                    'stopped '
                    'before this update, so the weights and the last '
                    'checkpoint are untouched. Usual fixes: a lower '
                    'learning rate or a longer warm-up, gradient clipping '
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
