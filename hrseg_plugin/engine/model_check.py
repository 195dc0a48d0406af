"""Build-time check that the heads (or neck) take the channels the
backbone gives.

mmseg / mmdet build the backbone and the heads independently; a wrong
``in_channels`` surfaces only at the first forward, as a conv weight-shape
``RuntimeError`` deep in the head. :func:`check_model_channels` compares
them right after the model is built (``tools/train.py`` and
``tools/test.py`` call it; so does :class:`ModelCheckHook` for the stock
tools), and raises a ValueError naming the head, the field, its value and
what the backbone gives. Only backbones that publish ``out_channels``
(``hrseg_plugin.HRNet``, ``hrseg_plugin.BiSeNet``) are checked; with a neck,
only the neck's ``in_channels`` is compared.
"""
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from hrseg_plugin.registry import HOOKS


def _heads(model):
    for attr in ('decode_head', 'auxiliary_head'):
        head = getattr(model, attr, None)
        if head is None:
            continue
        if isinstance(head, (list, tuple)) or hasattr(head, '__len__') and \
                not hasattr(head, 'in_channels'):
            for i, h in enumerate(head):
                yield f'{attr}.{i}', h
        else:
            yield attr, head


def _expected(outs: List[int], in_index, transform) -> Optional[object]:
    """What ``in_channels`` should be for a head taking ``in_index``."""
    try:
        if transform == 'resize_concat':
            return sum(outs[i] for i in in_index)
        if transform == 'multiple_select':
            return [outs[i] for i in in_index]
        return outs[in_index]
    except (IndexError, TypeError):
        return None


def check_model_channels(model) -> None:
    """Raise a ValueError when a head's / the neck's ``in_channels`` does
    not match the backbone's ``out_channels`` (see the module docstring)."""
    if is_model_wrapper(model):
        model = model.module
    backbone = getattr(model, 'backbone', None)
    outs = getattr(backbone, 'out_channels', None)
    if outs is None:
        return
    outs = [int(c) for c in outs]
    name = type(backbone).__name__
    neck = getattr(model, 'neck', None)
    if neck is not None:
        in_ch = getattr(neck, 'in_channels', None)
        if isinstance(in_ch, (list, tuple)) and list(in_ch) != outs:
            raise ValueError(
                f'neck ({type(neck).__name__}): in_channels={list(in_ch)} '
                f'but the backbone {name} outputs {outs} channels; set '
                f'neck.in_channels={outs}')
        return
    for where, head in _heads(model):
        in_index = getattr(head, 'in_index', None)
        if in_index is None or not hasattr(head, 'in_channels'):
            continue
        transform = getattr(head, 'input_transform', None)
        if transform not in ('resize_concat', 'multiple_select'):
            transform = None
        idx = list(in_index) if isinstance(in_index, (list, tuple)) \
            else in_index
        if isinstance(idx, list) and transform is None:
            continue
        bad_index = [i for i in (idx if isinstance(idx, list) else [idx])
                     if not -len(outs) <= i < len(outs)]
        if bad_index:
            raise ValueError(
                f'{where} ({type(head).__name__}): in_index={in_index} '
                f'refers to outputs {bad_index}, but the backbone {name} has '
                f'{len(outs)} outputs (channels {outs})')
        expected = _expected(outs, idx, transform)
        got = head.in_channels
        got = list(got) if isinstance(got, (list, tuple)) else got
        if expected is not None and got != expected:
            shown = (f'{got} (the sum of the configured list, as '
                     "input_transform='resize_concat')"
                     if transform == 'resize_concat' else f'{got}')
            raise ValueError(
                f'{where} ({type(head).__name__}): in_channels={shown} but '
                f'the backbone {name} gives {expected} at in_index='
                f'{in_index} (its outputs have {outs} channels); set the '
                "head's in_channels to match")


@HOOKS.register_module()
class ModelCheckHook(Hook):
    """Run :func:`check_model_channels` before training / testing starts,
    before any data is loaded (for configs run by the stock tools; our
    tools check when the runner is built)."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        check_model_channels(runner.model)
