"""``--from hrnet-official``: official HRNet-OCR checkpoints -> hrseg_plugin.

Source model: ``HRNet/HRNet-Semantic-Segmentation`` (branch ``HRNet-OCR``),
``lib/models/seg_hrnet_ocr.py`` (``HighResolutionNet`` with ``conv3x3_ocr``,
``ocr_gather_head``, ``ocr_distri_head``, ``cls_head``, ``aux_head``).
Target layout: ``EncoderDecoder``-style ``backbone`` (``hrseg_plugin.HRNet``)
+ ``decode_head = [FCNHead, hrseg_plugin.OCRHead]``, whose keys and shapes are
those of stock mmseg's OCRNet (``configs/_base_/models/ocrnet_hr18.py``).

Key mapping (official -> ours): :data:`KEY_MAP`, one row per renamed
module (official key prefix, our key prefix), is the whole of it; the
backbone keeps its names under ``backbone.``, the auxiliary head becomes
``decode_head.0`` (an ``FCNHead``) and the OCR head ``decode_head.1``.
The biases of ``aux_head.0`` and ``conv3x3_ocr.0`` have no counterpart:
they are folded (:data:`FOLDED_BIASES`).

Bias folding: the official ``aux_head.0`` and ``conv3x3_ocr.0`` convolutions
have a bias and are followed by a BatchNorm; ours are mmcv ``ConvModule`` s
with ``bias=False``. Since ``BN(conv(x) + b) == BN'(conv(x))`` with
``running_mean' = running_mean - b`` (and in training mode the batch mean
absorbs ``b`` anyway), the bias is folded into the BN running mean; this is
exact.

Input handling: the state dict may be bare or under ``'state_dict'`` /
``'model'``; the ``model.`` prefix of the official ``FullModel`` wrapper and a
``module.`` prefix of (Distributed)DataParallel are stripped; the loss keys
(``loss.*``, ``criterion.*``, e.g. ``loss.criterion.weight``) are dropped.
``num_batches_tracked`` buffers are kept; checkpoints from before torch 0.4.1
that have none at all get zeros (noted in the meta).

The architecture (widths, blocks and modules per stage, OCR channels, number
of classes) is read from the checkpoint; the checkpoint must then have
exactly the keys and shapes of that official model (our model of that
architecture, built on the meta device, with its keys mapped back through
:data:`KEY_MAP`), else the conversion is refused with the missing /
unknown / shape-mismatched official keys named.

The official model interpolates with ``align_corners=True`` (its
``MODEL.ALIGN_CORNERS`` default and the released cityscapes / ADE / LIP /
PASCAL-Context models); to reproduce it use
``backbone.upsample_cfg=dict(mode='bilinear', align_corners=True)`` and
``align_corners=True`` in both decode heads.
"""
from collections import OrderedDict
from typing import Dict, Tuple

import torch

from hrseg_plugin.utils.state_dicts import (DDP_PREFIX, compare_state_dicts,
                                            strip_prefix)
from ._hrnet import (OUR_OCB, infer_hrnet_arch, our_key_shapes,
                     read_ocr_widths, require_keys)
from ._keys import fill_num_batches_tracked, map_prefix
from .checks import extract_state_dict, raise_on_differences
from .registry import ConversionError, ConversionResult, register_converter

ORIGIN = 'hrnet-official'

_OCB = 'ocr_distri_head.object_context_block.'
_BACKBONE = ('conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1',
             'stage2', 'transition2', 'stage3', 'transition3', 'stage4')

#: The key mapping: (official key prefix, our key prefix). Every key of
#: either model starts with exactly one prefix of its column.
KEY_MAP = (
    *((f'{m}.', f'backbone.{m}.') for m in _BACKBONE),
    ('aux_head.0.', 'decode_head.0.convs.0.conv.'),
    ('aux_head.1.', 'decode_head.0.convs.0.bn.'),
    ('aux_head.3.', 'decode_head.0.conv_seg.'),
    ('conv3x3_ocr.0.', 'decode_head.1.bottleneck.conv.'),
    ('conv3x3_ocr.1.', 'decode_head.1.bottleneck.bn.'),
    (_OCB + 'f_pixel.0.', OUR_OCB + 'query_project.0.conv.'),
    (_OCB + 'f_pixel.1.0.', OUR_OCB + 'query_project.0.bn.'),
    (_OCB + 'f_pixel.2.', OUR_OCB + 'query_project.1.conv.'),
    (_OCB + 'f_pixel.3.0.', OUR_OCB + 'query_project.1.bn.'),
    (_OCB + 'f_object.0.', OUR_OCB + 'key_project.0.conv.'),
    (_OCB + 'f_object.1.0.', OUR_OCB + 'key_project.0.bn.'),
    (_OCB + 'f_object.2.', OUR_OCB + 'key_project.1.conv.'),
    (_OCB + 'f_object.3.0.', OUR_OCB + 'key_project.1.bn.'),
    (_OCB + 'f_down.0.', OUR_OCB + 'value_project.conv.'),
    (_OCB + 'f_down.1.0.', OUR_OCB + 'value_project.bn.'),
    (_OCB + 'f_up.0.', OUR_OCB + 'out_project.conv.'),
    (_OCB + 'f_up.1.0.', OUR_OCB + 'out_project.bn.'),
    ('ocr_distri_head.conv_bn_dropout.0.', OUR_OCB + 'bottleneck.conv.'),
    ('ocr_distri_head.conv_bn_dropout.1.0.', OUR_OCB + 'bottleneck.bn.'),
    ('cls_head.', 'decode_head.1.conv_seg.'),
)

#: Official biased convs followed by a BN: conv bias key -> official BN
#: prefix (the bias is folded into that BN's running mean).
FOLDED_BIASES = OrderedDict([
    ('aux_head.0.bias', 'aux_head.1'),
    ('conv3x3_ocr.0.bias', 'conv3x3_ocr.1'),
])

_LOSS_PREFIXES = ('loss.', 'criterion.')
#: The official ``FullModel`` (model + loss) wrapper's prefix.
_FULL_MODEL_PREFIX = 'model.'


def map_official_key(key: str) -> str:
    """Map one official key to ours (folded biases are not mapped).

    Raises:
        KeyError: No row of :data:`KEY_MAP` matches ``key``.
    """
    return map_prefix(key, KEY_MAP, 0)


def official_key(key: str) -> str:
    """Map one of our keys to the official one (the inverse of
    :func:`map_official_key`)."""
    return map_prefix(key, KEY_MAP, 1)


def official_key_spec(arch: dict) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of the whole official ``seg_hrnet_ocr`` model:
    ours (:func:`our_key_shapes`) mapped back through :data:`KEY_MAP`, plus
    the folded biases.

    Args:
        arch (dict): As returned by :func:`infer_official_arch`.

    Returns:
        OrderedDict[str, tuple]: Official key -> shape, in our model's
        order.
    """
    spec = OrderedDict(
        (official_key(k), shape)
        for k, shape in our_key_shapes(arch, with_ocr_heads=True).items())
    for bias, bn in FOLDED_BIASES.items():
        spec[bias] = spec[f'{bn}.running_mean']
    return spec


# ----------------------------------------------------------------------------
# architecture inference
# ----------------------------------------------------------------------------


def infer_official_arch(sd: Dict[str, torch.Tensor]) -> dict:
    """Read the official HRNet-OCR architecture from its weights.

    Args:
        sd (dict[str, Tensor]): Official state dict (prefixes stripped).

    Returns:
        dict: Backbone settings (see :func:`infer_hrnet_arch`) plus
        ``in_channels``, ``ocr_mid_channels``, ``ocr_key_channels``,
        ``num_classes``.

    Raises:
        ConversionError: Naming the missing anchor keys, with a hint when the
            checkpoint looks like another kind.
    """
    _hint_other_layouts(sd)
    arch = infer_hrnet_arch(sd)
    head_anchors = [
        'conv3x3_ocr.0.weight', f'{_OCB}f_pixel.0.weight', 'cls_head.weight'
    ]
    require_keys(sd, head_anchors)
    return read_ocr_widths(sd, arch, *head_anchors)


def _hint_other_layouts(sd):
    keys = list(sd)
    if any(k.startswith(('backbone.', 'decode_head.')) for k in keys):
        raise ConversionError(
            'this looks like an mmseg / hrseg_plugin checkpoint (keys start '
            "with 'backbone.' / 'decode_head.'), not an official HRNet-OCR "
            'one; use --from mmseg')
    if not any(k.startswith(('conv3x3_ocr.', 'ocr_distri_head.',
                             'cls_head.')) for k in keys):
        kind = ''
        if any(k.startswith(('incre_modules.', 'classifier.')) for k in keys):
            kind = (' (it looks like an official HRNet-Image-Classification '
                    'ImageNet model: use --from timm, whose keys are the '
                    'same)')
        elif any(k.startswith('last_layer.') for k in keys):
            kind = ' (it looks like an official seg_hrnet model without OCR)'
        raise ConversionError(
            'not an official HRNet-OCR checkpoint: it has no OCR head keys '
            f'(conv3x3_ocr.*, ocr_distri_head.*, cls_head.*){kind}')


# ----------------------------------------------------------------------------
# conversion
# ----------------------------------------------------------------------------


def normalize_official_state_dict(
        sd: Dict[str, torch.Tensor]) -> Tuple['OrderedDict', dict]:
    """Strip wrapper prefixes and drop loss keys.

    Strips a leading ``module.`` ((Distributed)DataParallel) and ``model.``
    (the official ``FullModel`` wrapper), and drops ``loss.*`` /
    ``criterion.*`` (the ``FullModel`` criterion, e.g. class weights).

    Args:
        sd (dict[str, Tensor]): State dict as found in the file.

    Returns:
        tuple: ``(state_dict, notes)``; ``notes`` has ``stripped_prefixes``
        and ``dropped_keys``.

    Raises:
        ConversionError: Two keys collapse onto one after stripping.
    """
    try:
        unwrapped = strip_prefix(sd, DDP_PREFIX)
        kept = OrderedDict((k, v) for k, v in unwrapped.items()
                           if not k.startswith(_LOSS_PREFIXES))
        out = strip_prefix(kept, _FULL_MODEL_PREFIX)
    except ValueError as e:
        raise ConversionError(str(e)) from None
    stripped = [
        prefix for prefix, keys in ((DDP_PREFIX, sd),
                                    (_FULL_MODEL_PREFIX, kept))
        if any(k.startswith(prefix) for k in keys)
    ]
    # strip_prefix keeps the order: zip pairs each key with its name in sd
    dropped = [key for key, new in zip(sd, unwrapped) if new not in kept]
    return out, dict(
        stripped_prefixes=sorted(stripped), dropped_keys=dropped)


def _arch_summary(arch: dict) -> dict:
    return dict(
        widths=list(arch['stage4']['num_channels']),
        stages={
            s: dict(arch[s])
            for s in ('stage1', 'stage2', 'stage3', 'stage4')
        },
        in_channels=arch['in_channels'],
        ocr_mid_channels=arch['ocr_mid_channels'],
        ocr_key_channels=arch['ocr_key_channels'],
        num_classes=arch['num_classes'])


@register_converter(
    ORIGIN,
    'official HRNet-OCR (HRNet/HRNet-Semantic-Segmentation, seg_hrnet_ocr) '
    '-> hrseg_plugin.HRNet + [FCNHead, hrseg_plugin.OCRHead]')
def convert_hrnet_official(checkpoint: dict,
                           progress: bool = False) -> ConversionResult:
    """Convert an official HRNet-OCR checkpoint to our layout.

    Args:
        checkpoint (dict): Loaded file: a bare state dict, or a dict with a
            ``'state_dict'`` (official ``checkpoint.pth.tar``) / ``'model'``
            entry; keys may carry ``model.`` / ``module.`` prefixes and
            ``loss.*`` entries.
        progress (bool): Show a tqdm progress bar over the keys.

    Returns:
        ConversionResult: State dict in the hrseg_plugin / mmseg OCRNet
        layout, and meta with the inferred architecture, the folded biases,
        stripped prefixes and dropped keys.

    Raises:
        ConversionError: The checkpoint is not an official HRNet-OCR one, or
            has missing / unknown / shape-mismatched keys (named).
    """
    from tqdm import tqdm

    raw, _, container = extract_state_dict(checkpoint)
    sd, notes = normalize_official_state_dict(raw)
    class_weight = None
    for key in notes['dropped_keys']:
        if key.endswith('criterion.weight') and raw[key].dim() == 1:
            class_weight = [round(float(w), 6) for w in raw[key]]
    arch = infer_official_arch(sd)
    spec = official_key_spec(arch)
    synthesized_nbt = fill_num_batches_tracked(sd, spec)

    missing, unexpected, mismatched = compare_state_dicts(sd, spec)
    raise_on_differences(
        missing, unexpected, mismatched,
        'refusing to convert: the checkpoint does not match the official '
        f'HRNet-OCR model it describes (HRNet widths '
        f'{arch["stage4"]["num_channels"]}, {arch["num_classes"]} classes)',
        hint='unknown keys cannot be mapped; a missing or mis-shaped key '
        'means a truncated, modified or different model.' if unexpected else
        '')

    ours = OrderedDict(
        (map_official_key(k), k) for k in spec if k not in FOLDED_BIASES)
    out = OrderedDict()
    for key in tqdm(
            ours, desc=f'converting ({ORIGIN})', unit='key',
            disable=not progress, leave=False):
        out[key] = sd[ours[key]]
    folds = []
    for bias_key, official_bn in FOLDED_BIASES.items():
        bias = sd[bias_key]
        mean_key = map_official_key(f'{official_bn}.running_mean')
        mean = out[mean_key]
        if bias.shape != mean.shape:  # guarded by the spec; keep explicit
            raise ConversionError(
                f'cannot fold {bias_key} {tuple(bias.shape)} into '
                f'{official_bn}.running_mean {tuple(mean.shape)}: shapes '
                'differ')
        out[mean_key] = (mean.double() - bias.double()).to(mean.dtype)
        folds.append(
            dict(bias=bias_key, into=mean_key,
                 rule='running_mean := running_mean - bias'))

    meta = dict(
        origin=ORIGIN,
        source_repo='HRNet/HRNet-Semantic-Segmentation (branch HRNet-OCR), '
        'lib/models/seg_hrnet_ocr.py',
        source_container=container,
        arch=_arch_summary(arch),
        folded_biases=folds,
        stripped_prefixes=notes['stripped_prefixes'],
        dropped_keys=notes['dropped_keys'],
        num_batches_tracked='synthesized (zeros)'
        if synthesized_nbt else 'kept',
        # the official training loss' class weights (FullModel criterion):
        # loss_decode.class_weight of both heads to train like the original
        loss_class_weight=class_weight,
        reproduce_with=dict(
            backbone=dict(upsample_cfg=dict(mode='bilinear',
                                            align_corners=True)),
            decode_heads=dict(align_corners=True)))
    return ConversionResult(out, meta)
