"""The heads (or neck) must take the channels the backbone gives: checked
when the model is built.

mmseg / mmdet build the backbone and the heads independently; a wrong
``in_channels`` would surface only at the first forward, as a conv
weight-shape ``RuntimeError`` deep in the head. Our backbones
(``hrseg_plugin.HRNet``, ``hrseg_plugin.BiSeNet``) publish their
``out_channels``, so the check can run as soon as a segmentor / detector
registers its head or neck next to one of them.

How it reaches every path that builds a model (our tools, stock
``tools/train.py`` / ``test.py``, ``init_model`` / ``init_detector``,
``MMSegInferencer``, a user's script): :func:`install_build_check`
registers a torch *module registration hook* (called whenever any
``nn.Module`` assigns a child module) when this package's models are
imported. The hook returns at once unless the parent is a model whose
``backbone`` is one of ours and the child is its ``neck``, ``decode_head``
or ``auxiliary_head`` (or a head appended to such a ``ModuleList``); then it
runs :func:`check_head_channels` / :func:`check_neck_channels` and raises a
:class:`~hrseg_plugin.errors.ModelConfigError` naming the head, the field,
its value and what the backbone gives. Stock backbones are left alone.

:func:`check_model_channels` checks a built model as a whole (the tools and
``hrseg_plugin.ModelCheckHook`` call it too). Behind a backbone without
``out_channels`` (a stock one) nothing can be checked at build time: our
heads then check their inputs at the first forward
(:func:`transformed_inputs`) and our necks theirs
(``models/necks/branch_check.py``), with the same kind of message.
"""
import weakref
from typing import List, Optional

from hrseg_plugin.errors import ModelConfigError

#: The child modules of a segmentor / detector whose channels are checked.
HEAD_ATTRS = ('decode_head', 'auxiliary_head')


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


def _backbone_outputs(backbone) -> Optional[List[int]]:
    outs = getattr(backbone, 'out_channels', None)
    if outs is None:
        return None
    return [int(c) for c in outs]


def check_neck_channels(neck, backbone) -> None:
    """Raise a :class:`ModelConfigError` when the neck's list of
    ``in_channels`` is not the backbone's ``out_channels``."""
    outs = _backbone_outputs(backbone)
    in_ch = getattr(neck, 'in_channels', None)
    if outs is None or not isinstance(in_ch, (list, tuple)):
        return
    if list(in_ch) != outs:
        raise ModelConfigError(
            f'neck ({type(neck).__name__}): in_channels={list(in_ch)} '
            f'but the backbone {type(backbone).__name__} outputs {outs} '
            f'channels; set model.neck.in_channels={outs}')


def check_head_channels(where: str, head, backbone) -> None:
    """Raise a :class:`ModelConfigError` when the head's ``in_index`` /
    ``in_channels`` do not fit the backbone's ``out_channels``.

    Args:
        where (str): The head's place in the model (``decode_head.1``).
        head: The head (an mmseg ``BaseDecodeHead``).
        backbone: The backbone; unchecked unless it has ``out_channels``.
    """
    outs = _backbone_outputs(backbone)
    in_index = getattr(head, 'in_index', None)
    if outs is None or in_index is None or not hasattr(head, 'in_channels'):
        return
    name = type(backbone).__name__
    transform = getattr(head, 'input_transform', None)
    if transform not in ('resize_concat', 'multiple_select'):
        transform = None
    idx = list(in_index) if isinstance(in_index, (list, tuple)) \
        else in_index
    if isinstance(idx, list) and transform is None:
        return
    bad_index = [i for i in (idx if isinstance(idx, list) else [idx])
                 if not -len(outs) <= i < len(outs)]
    if bad_index:
        raise ModelConfigError(
            f'{where} ({type(head).__name__}): in_index={in_index} '
            f'refers to outputs {bad_index}, but the backbone {name} has '
            f'{len(outs)} outputs (channels {outs}); use indices 0 to '
            f'{len(outs) - 1}')
    expected = _expected(outs, idx, transform)
    got = head.in_channels
    got = list(got) if isinstance(got, (list, tuple)) else got
    if expected is not None and got != expected:
        shown = (f'{got} (the sum of the configured list, as '
                 "input_transform='resize_concat')"
                 if transform == 'resize_concat' else f'{got}')
        raise ModelConfigError(
            f'{where} ({type(head).__name__}): in_channels={shown} but '
            f'the backbone {name} gives {expected} at in_index='
            f'{in_index} (its outputs have {outs} channels); set '
            f'model.{where}.in_channels to match')


def transformed_inputs(head, inputs):
    """``head._transform_inputs(inputs)`` (mmseg's ``BaseDecodeHead``),
    checked against the head's ``in_channels``: the first forward of one of
    our heads fails with a :class:`ModelConfigError` naming the field and
    the fix instead of a conv weight-shape error, also behind a backbone
    that publishes no ``out_channels`` (a stock one), where the build-time
    check cannot run."""
    x = head._transform_inputs(inputs)
    got = [int(t.shape[1]) for t in x] if isinstance(x, (list, tuple)) \
        else int(x.shape[1])
    want = list(head.in_channels) if isinstance(
        head.in_channels, (list, tuple)) else int(head.in_channels)
    if got != want:
        raise ModelConfigError(
            f'{type(head).__name__}: in_channels={want} but its inputs '
            f'(in_index={head.in_index}) have {got} channels; set the '
            "head's in_channels (model.decode_head.in_channels or "
            f'model.auxiliary_head...in_channels) to {got}')
    return x


def _heads(model):
    for attr in HEAD_ATTRS:
        head = getattr(model, attr, None)
        if head is None:
            continue
        if isinstance(head, (list, tuple)) or hasattr(head, '__len__') and \
                not hasattr(head, 'in_channels'):
            for i, h in enumerate(head):
                yield f'{attr}.{i}', h
        else:
            yield attr, head


def check_model_channels(model) -> None:
    """Check a built model's heads (or neck) against its backbone; raise a
    :class:`ModelConfigError` (a ValueError) on a mismatch. With a neck,
    only the neck is compared (the heads take its outputs)."""
    from mmengine.model import is_model_wrapper
    if is_model_wrapper(model):
        model = model.module
    backbone = getattr(model, 'backbone', None)
    if _backbone_outputs(backbone) is None:
        return
    neck = getattr(model, 'neck', None)
    if neck is not None:
        check_neck_channels(neck, backbone)
        return
    for where, head in _heads(model):
        check_head_channels(where, head, backbone)


def _ours(backbone) -> bool:
    return type(backbone).__module__.startswith('hrseg_plugin.') and \
        _backbone_outputs(backbone) is not None


#: ModuleLists of heads being filled: list -> (weak ref to its model, its
#: attribute)
_HEAD_LISTS: 'weakref.WeakKeyDictionary' = weakref.WeakKeyDictionary()


def _on_child_registered(parent, name, child):
    """The module registration hook (see the module docstring)."""
    if child is None:
        return None
    owner = _HEAD_LISTS.get(parent)
    if owner is not None:  # a head appended to model.decode_head = []
        model, attr = owner[0](), owner[1]
        if model is not None and getattr(model, 'neck', None) is None:
            check_head_channels(f'{attr}.{name}', child, model.backbone)
        return None
    if name not in HEAD_ATTRS and name != 'neck':
        return None
    backbone = parent._modules.get('backbone')
    if backbone is None or not _ours(backbone):
        return None
    if name == 'neck':
        check_neck_channels(child, backbone)
    elif parent._modules.get('neck') is None:
        if hasattr(child, 'in_channels'):
            check_head_channels(name, child, backbone)
        elif hasattr(child, '__len__'):  # a ModuleList, filled later
            for i, head in enumerate(child):
                check_head_channels(f'{name}.{i}', head, backbone)
            # weak both ways: the model holds the list
            _HEAD_LISTS[child] = (weakref.ref(parent), name)
    return None


_HANDLE = None


def install_build_check() -> None:
    """Register the module registration hook once per process (done on
    import of ``hrseg_plugin.models``)."""
    global _HANDLE
    if _HANDLE is None:
        from torch.nn.modules.module import \
            register_module_module_registration_hook
        _HANDLE = register_module_module_registration_hook(
            _on_child_registered)
