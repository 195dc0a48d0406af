"""``hrseg_plugin.ConfigLRHook``: on ``--resume``, the learning rate of the
config wins over the checkpoint's.

mmengine's resume restores the optimizer's state (its param groups'
``lr`` and ``initial_lr``) and the schedulers' ``base_values`` from the
checkpoint, so a learning rate lowered in the config (the usual fix after a
NaN loss) has no effect on a resumed run. This hook notes the config's
base learning rate of every param group before the checkpoint is loaded
(``before_run``: the optimizer and schedulers are built from the config,
nothing is loaded yet) and, once it is loaded (``before_train``), scales
each group's current ``lr``, its ``initial_lr`` and the schedulers' base
values by config / checkpoint, so the schedule goes on from where it was,
at the config's scale. Nothing changes when they agree. ``tools/train.py``
adds it to every resumed run.
"""
import logging
from typing import List

from mmengine.hooks import Hook
from mmengine.logging import print_log

from hrseg_plugin.registry import HOOKS


def _wrappers(runner) -> List:
    optim = runner.optim_wrapper
    return list(optim.values()) if hasattr(optim, 'values') else [optim]


def _groups(runner) -> List[dict]:
    return [g for w in _wrappers(runner) for g in w.optimizer.param_groups]


def _base_lr(group: dict) -> float:
    return float(group.get('initial_lr', group['lr']))


def _lr_schedulers(runner) -> List:
    schedulers = runner.param_schedulers or []
    if isinstance(schedulers, dict):
        schedulers = [s for v in schedulers.values() for s in v]
    return [s for s in schedulers if getattr(s, 'param_name', None) == 'lr']


@HOOKS.register_module()
class ConfigLRHook(Hook):
    """Make the config's learning rate win on resume (see the module
    docstring)."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        self._config_lrs = None
        if hasattr(runner.optim_wrapper, 'optimizer') or hasattr(
                runner.optim_wrapper, 'values'):
            self._config_lrs = [_base_lr(g) for g in _groups(runner)]

    def before_train(self, runner) -> None:
        config_lrs = getattr(self, '_config_lrs', None)
        groups = _groups(runner)
        if not config_lrs or len(config_lrs) != len(groups):
            return
        factors = []
        for group, new in zip(groups, config_lrs):
            old = _base_lr(group)
            factor = new / old if old > 0 else 1.0
            factors.append(factor)
            if abs(factor - 1) < 1e-9:
                continue
            group['lr'] *= factor
            group['initial_lr'] = new
        if all(abs(f - 1) < 1e-9 for f in factors):
            return
        factor_of = {id(g): f for g, f in zip(groups, factors)}
        for scheduler in _lr_schedulers(runner):
            for i, group in enumerate(scheduler.optimizer.param_groups):
                factor = factor_of.get(id(group), 1.0)
                scheduler.base_values[i] *= factor
                if getattr(scheduler, '_last_value', None):
                    scheduler._last_value[i] *= factor
        old_lrs = [lr / f for lr, f in zip(config_lrs, factors)]
        print_log(
            f'resume: the config\'s learning rate {_fmt(config_lrs)} is not '
            f'the checkpoint\'s {_fmt(old_lrs)}: training goes on with the '
            "config's (the optimizer's current and base learning rates and "
            'the schedulers\' base values scaled by '
            f'{_fmt(factors)})', logger='current', level=logging.WARNING)


def _fmt(values: List[float]) -> str:
    unique = sorted(set(round(v, 12) for v in values))
    return f'{unique[0]:g}' if len(unique) == 1 else \
        '[' + ', '.join(f'{v:g}' for v in values) + ']'
