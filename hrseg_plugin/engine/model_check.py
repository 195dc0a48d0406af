"""``hrseg_plugin.ModelCheckHook``: the model checks, once more before a
run starts.

The heads' / neck's ``in_channels`` are already checked when the model is
built, by every tool and API (:mod:`hrseg_plugin.models.channel_check`);
the hook repeats that check on the built model (a model edited after it was
built) and compares the heads' ``num_classes`` with the classes of the
run's data sets (:func:`check_num_classes`), before any data is read.
"""
from typing import Dict, Iterator, Sequence, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from hrseg_plugin.errors import ModelConfigError
from hrseg_plugin.models.channel_check import check_model_channels
from hrseg_plugin.registry import HOOKS

__all__ = ['ModelCheckHook', 'check_model_channels', 'check_num_classes',
           'class_heads']

#: Detection heads that predict the data set's classes (the RPN head's
#: num_classes is 1, class-agnostic, and is not compared).
_DET_CLASS_HEADS = ('bbox_head', 'mask_head')


def class_heads(model) -> Iterator[Tuple[str, object]]:
    """``(place, head)`` for every head of ``model`` whose ``num_classes``
    must be the data set's number of classes: mmseg's decode / auxiliary
    heads, mmdet's bbox / mask heads (also inside ``roi_head``)."""
    if is_model_wrapper(model):
        model = model.module
    for attr in ('decode_head', 'auxiliary_head', 'bbox_head', 'roi_head'):
        part = getattr(model, attr, None)
        if part is None:
            continue
        if attr == 'roi_head':
            for sub in _DET_CLASS_HEADS:
                head = getattr(part, sub, None)
                if head is not None:
                    yield from _each(f'roi_head.{sub}', head)
        else:
            yield from _each(attr, part)


def _each(place, head):
    if hasattr(head, 'num_classes'):
        yield place, head
    elif hasattr(head, '__len__'):
        for i, h in enumerate(head):
            if hasattr(h, 'num_classes'):
                yield f'{place}.{i}', h


def check_num_classes(model, classes_by_loader: Dict[str, Sequence]) -> None:
    """Raise a :class:`~hrseg_plugin.errors.ModelConfigError` when a head's
    ``num_classes`` differs from the number of classes of a data set.

    More classes than the data set has would train and evaluate without a
    word (the extra outputs are never a target, and the metric ignores
    them); fewer would end in an ``IndexError`` in the loss.

    Args:
        model: The built model.
        classes_by_loader (dict): Dataloader name (``train_dataloader``) ->
            its data set's class names.
    """
    for loader, classes in classes_by_loader.items():
        if not classes:
            continue
        n = len(classes)
        for place, head in class_heads(model):
            num = int(head.num_classes)
            if num == n:
                continue
            shown = ', '.join(str(c) for c in list(classes)[:4])
            more = ', ...' if n > 4 else ''
            raise ModelConfigError(
                f'model.{place} ({type(head).__name__}): num_classes={num} '
                f'but the data set of {loader} has {n} classes ({shown}'
                f'{more}); set num_classes={n} in every head, or give the '
                f'data set the classes the model predicts (its metainfo='
                'dict(classes=...))')


def _loader_classes(runner) -> Dict[str, Sequence]:
    """The class names of the data sets of the loops the runner has
    built."""
    found = {}
    for name in ('train', 'val', 'test'):
        loop = getattr(runner, f'_{name}_loop', None)
        loader = getattr(loop, 'dataloader', None)
        meta = getattr(getattr(loader, 'dataset', None), 'metainfo', None)
        if meta and meta.get('classes'):
            found[f'{name}_dataloader'] = meta['classes']
    return found


@HOOKS.register_module()
class ModelCheckHook(Hook):
    """Before training / testing starts: :func:`check_model_channels` and
    :func:`check_num_classes` against the data sets of the built loops
    (for configs run by the stock tools; our tools check when the runner
    is built, before any data set is)."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        check_model_channels(runner.model)
        check_num_classes(runner.model, _loader_classes(runner))
