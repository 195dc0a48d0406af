"""HRNet checkpoints, for the ``hrnet-official``, ``mmseg``, ``mmdet``,
``mmpose``, ``mmpretrain`` and ``timm`` converters: the architecture a
checkpoint's weights describe, and the keys and shapes of our model of that
architecture.

The keys and shapes are those of our modules themselves
(``hrseg_plugin.HRNet``, with one or all branches out; stock ``FCNHead`` +
``hrseg_plugin.OCRHead`` as in ``configs/_base_/models/hrnet_ocr.py``;
``hrseg_plugin.HRNetClsNeck`` + a linear classifier as in
``configs/cls_hrnet_w18_in1k.py``), built on the ``meta`` device (no memory,
no initialization): there is no second description of HRNet's layout to
keep in step with the model.
"""
import functools
import re
import warnings
from collections import OrderedDict
from typing import Dict, List

import torch

from hrseg_plugin.utils.state_dicts import (compare_state_dicts, format_keys,
                                            key_shapes)
from .checks import raise_on_differences
from .registry import ConversionError

#: Output channels of a block per input ``planes``.
EXPANSION = {'BASIC': 1, 'BOTTLENECK': 4}
STAGES = ('stage1', 'stage2', 'stage3', 'stage4')
#: Our OCR head's object attention (``hrseg_plugin.OCRHead``).
OUR_OCB = 'decode_head.1.object_context_block.'


def _max_index(keys, prefix) -> int:
    """1 + the largest integer right after ``prefix`` in ``keys`` (0 if
    none)."""
    pat = re.compile(re.escape(prefix) + r'(\d+)\.')
    idx = [int(m.group(1)) for m in map(pat.match, keys) if m]
    return max(idx) + 1 if idx else 0


def require_keys(
        sd,
        keys: List[str],
        prefix: str = '',
        what: str = 'not an HRNet-OCR checkpoint of the expected layout:'
) -> None:
    """Refuse a checkpoint without the keys the architecture is read from.

    Raises:
        ConversionError: ``<what> missing keys:`` and the keys.
    """
    missing = [prefix + k for k in keys if prefix + k not in sd]
    if missing:
        raise ConversionError(
            f'{what} missing keys:\n{format_keys(missing)}')


def is_hrnet(sd, prefix: str = 'backbone.') -> bool:
    """Whether the ``prefix`` keys are an HRNet's (it has fuse layers)."""
    return any(k.startswith(f'{prefix}stage2.0.fuse_layers.') for k in sd)


def infer_hrnet_arch(sd: Dict[str, torch.Tensor],
                     prefix: str = '') -> dict:
    """Read the HRNet backbone architecture from its weights.

    Args:
        sd (dict[str, Tensor]): State dict (official or mmseg naming).
        prefix (str): Prefix of the backbone keys (``''`` official,
            ``'backbone.'`` mmseg).

    Returns:
        dict: ``stage1``..``stage4`` settings (``num_modules``,
        ``num_branches``, ``block``, ``num_blocks``, ``num_channels``: the
        ``extra`` of ``hrseg_plugin.HRNet``) and ``out_channels`` (per
        branch).

    Raises:
        ConversionError: Naming the missing anchor keys.
    """
    keys = [k[len(prefix):] for k in sd if k.startswith(prefix)]
    require_keys(sd, ['conv1.weight', 'layer1.0.conv1.weight'], prefix)
    arch = {}
    block = 'BOTTLENECK' if f'{prefix}layer1.0.conv3.weight' in sd \
        else 'BASIC'
    arch['stage1'] = dict(
        num_modules=1,
        num_branches=1,
        block=block,
        num_blocks=[_max_index(keys, 'layer1.')],
        num_channels=[int(sd[f'{prefix}layer1.0.conv1.weight'].shape[0])])
    for s in (2, 3, 4):
        require_keys(sd, [f'stage{s}.0.branches.0.0.conv1.weight'], prefix)
        nb = _max_index(keys, f'stage{s}.0.branches.')
        anchors = [f'stage{s}.0.branches.{i}.0.conv1.weight'
                   for i in range(nb)]
        require_keys(sd, anchors, prefix)
        block = 'BOTTLENECK' if \
            f'{prefix}stage{s}.0.branches.0.0.conv3.weight' in sd else 'BASIC'
        arch[f'stage{s}'] = dict(
            num_modules=_max_index(keys, f'stage{s}.'),
            num_branches=nb,
            block=block,
            num_blocks=[
                _max_index(keys, f'stage{s}.0.branches.{i}.')
                for i in range(nb)
            ],
            num_channels=[int(sd[prefix + a].shape[0]) for a in anchors])
    exp = EXPANSION[arch['stage4']['block']]
    arch['out_channels'] = [c * exp for c in arch['stage4']['num_channels']]
    return arch


def read_ocr_widths(sd: Dict[str, torch.Tensor], arch: dict, mid_key: str,
                    key_key: str, cls_key: str) -> dict:
    """Add the OCR heads' widths to ``arch`` (in place, and return it):
    ``in_channels`` (the concatenated branches), ``ocr_mid_channels`` (the
    rows of ``mid_key``, the 3x3 bottleneck), ``ocr_key_channels`` (of
    ``key_key``, the first query projection), ``num_classes`` (of
    ``cls_key``, the classifier)."""
    arch['in_channels'] = sum(arch['out_channels'])
    arch['ocr_mid_channels'] = int(sd[mid_key].shape[0])
    arch['ocr_key_channels'] = int(sd[key_key].shape[0])
    arch['num_classes'] = int(sd[cls_key].shape[0])
    return arch


def built_key_shapes(parts: dict) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of a model made of ``parts`` (name -> module config,
    a list of configs for a ``ModuleList``, a dict of such parts without
    ``type`` for a plain container, or a callable returning a torch
    module), built in mmseg's scope on the meta device (no memory, no
    initialization).

    Returns:
        OrderedDict[str, tuple]: ``<name>.*`` key -> shape, in the model's
        state-dict order.
    """
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    def build(cfg):
        if callable(cfg):
            return cfg()
        if isinstance(cfg, list):
            return torch.nn.ModuleList(map(build, cfg))
        if 'type' in cfg:
            return MODELS.build(cfg)
        module = torch.nn.Module()
        for name, part in cfg.items():
            module.add_module(name, build(part))
        return module

    with torch.device('meta'), DefaultScope.overwrite_default_scope(
            'mmseg'), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the heads' loss defaults warn
        model = build(parts)
    return key_shapes(model)


def our_key_shapes(arch: dict,
                   with_ocr_heads: bool = False,
                   multiscale_output: bool = True,
                   cls_head: dict = None) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of our model of ``arch``, in its state-dict order.

    Args:
        arch (dict): As returned by :func:`infer_hrnet_arch` (with the OCR
            widths of :func:`read_ocr_widths` for ``with_ocr_heads``).
        with_ocr_heads (bool): Also the ``decode_head`` of
            ``configs/_base_/models/hrnet_ocr.py``: ``[FCNHead,
            hrseg_plugin.OCRHead]``.
        multiscale_output (bool): Whether the last module outputs every
            branch (False: only the first, as stock mmpose builds it).
        cls_head (dict, optional): Also the ImageNet classification parts
            of ``configs/cls_hrnet_w18_in1k.py`` (= mmpretrain's
            ``HRFuseScales`` + ``LinearClsHead``): ``neck.0`` an
            ``hrseg_plugin.HRNetClsNeck`` of ``incre_channels`` and
            ``out_channels`` and, with ``num_classes``, ``head.fc``.

    Returns:
        OrderedDict[str, tuple]: ``backbone.*`` (and ``decode_head.*`` or
        ``neck.0.*`` / ``head.fc.*``) key -> shape.
    """
    norm_cfg = dict(type='BN')
    parts = dict(backbone=dict(
        type='hrseg_plugin.HRNet',
        extra={s: arch[s] for s in STAGES},
        multiscale_output=multiscale_output,
        norm_cfg=norm_cfg))
    if cls_head is not None:
        parts['neck'] = [dict(
            type='hrseg_plugin.HRNetClsNeck',
            in_channels=arch['out_channels'],
            incre_channels=cls_head['incre_channels'],
            out_channels=cls_head['out_channels'],
            global_pool=False)]
        if cls_head.get('num_classes') is not None:
            # mmpretrain's LinearClsHead: one nn.Linear called fc
            parts['head'] = dict(fc=functools.partial(
                torch.nn.Linear, cls_head['out_channels'],
                cls_head['num_classes']))
    if with_ocr_heads:
        branches = list(arch['out_channels'])
        common = dict(
            in_channels=branches,
            in_index=tuple(range(len(branches))),
            input_transform='resize_concat',
            dropout_ratio=-1,
            num_classes=arch['num_classes'],
            norm_cfg=norm_cfg)
        parts['decode_head'] = [
            dict(type='FCNHead', channels=sum(branches), kernel_size=1,
                 num_convs=1, concat_input=False, **common),
            dict(type='hrseg_plugin.OCRHead',
                 channels=arch['ocr_mid_channels'],
                 ocr_channels=arch['ocr_key_channels'], **common)
        ]
    return built_key_shapes(parts)


def validate_hrnet_keys(sd) -> dict:
    """Validate the HRNet backbone / OCRNet decode-head keys of a stock
    mmseg / mmdet checkpoint (their layout is ours) against our model of the
    architecture they describe; return what was recognised (for the meta).
    All differences are reported at once.

    Raises:
        ConversionError: naming the missing / unexpected / shape-mismatched
            keys.
    """
    found = {}
    if not is_hrnet(sd):
        return found
    arch = infer_hrnet_arch(sd, prefix='backbone.')
    widths = list(arch['stage4']['num_channels'])
    found['backbone'] = dict(type='HRNet', widths=widths)
    ocr = any(k.startswith(OUR_OCB) for k in sd)
    what = f'the backbone keys do not match the HRNet they describe ' \
        f'(widths {widths})'
    if ocr:
        anchors = [
            'decode_head.1.bottleneck.conv.weight',
            OUR_OCB + 'query_project.0.conv.weight',
            'decode_head.1.conv_seg.weight'
        ]
        require_keys(sd, anchors,
                     what='refusing: incomplete OCRNet decode head,')
        read_ocr_widths(sd, arch, *anchors)
        what = ('the backbone / decode_head keys do not match an HRNet '
                f'(widths {widths}) + [FCNHead, OCRHead] '
                f'({arch["num_classes"]} classes) OCRNet')
        found['decode_head'] = dict(
            type='[FCNHead, OCRHead]',
            num_classes=arch['num_classes'],
            channels=arch['ocr_mid_channels'],
            ocr_channels=arch['ocr_key_channels'])
    checked = {
        k: v
        for k, v in sd.items()
        if k.startswith(('backbone.', 'decode_head.') if ocr else 'backbone.')
    }
    raise_on_differences(
        *compare_state_dicts(checked, our_key_shapes(arch, ocr)),
        f'refusing: {what}')
    return found


def is_multiscale(sd, arch: dict, prefix: str = 'backbone.') -> bool:
    """Whether the last module of the HRNet the ``prefix`` keys describe
    outputs every branch (mmseg, mmdet, mmpretrain, timm, official) or only
    the first (stock mmpose: ``fuse_layers.0`` alone)."""
    last = f'{prefix}stage4.{arch["stage4"]["num_modules"] - 1}.fuse_layers.'
    return any(
        k.startswith(f'{last}{i}.') for k in sd
        for i in range(1, arch['stage4']['num_branches']))


def read_cls_neck_widths(sd, branches: int, increase: str,
                         final: str) -> dict:
    """The widths of an HRNet classification neck: the bottleneck width of
    every increase layer (``{increase}{i}.0.conv1``) and the final layer's
    output channels (``final``, a conv weight).

    Returns:
        dict: ``incre_channels`` and ``out_channels`` (the ``cls_head`` of
        :func:`our_key_shapes`).

    Raises:
        ConversionError: An increase layer or the final layer is missing.
    """
    anchors = [f'{increase}{i}.0.conv1.weight' for i in range(branches)]
    require_keys(
        sd, anchors + [final],
        what='refusing: the classification neck needs an increase layer for '
        f'every HRNet branch ({branches}) and a final layer;')
    return dict(incre_channels=[int(sd[k].shape[0]) for k in anchors],
                out_channels=int(sd[final].shape[0]))
