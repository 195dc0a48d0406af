"""``--from hrnet-official``: official HRNet-OCR checkpoints -> hrseg_plugin.

Source model: ``HRNet/HRNet-Semantic-Segmentation`` (branch ``HRNet-OCR``),
``lib/models/seg_hrnet_ocr.py`` (``HighResolutionNet`` with ``conv3x3_ocr``,
``ocr_gather_head``, ``ocr_distri_head``, ``cls_head``, ``aux_head``).
Target layout: ``EncoderDecoder``-style ``backbone`` (``hrseg_plugin.HRNet``)
+ ``decode_head = [FCNHead, hrseg_plugin.OCRHead]``, whose keys and shapes are
those of stock mmseg's OCRNet (``configs/_base_/models/ocrnet_hr18.py``).

Key mapping (official -> ours), see :data:`MAPPING_TABLE`; ``OCB`` is
``ocr_distri_head.object_context_block`` (official) and
``decode_head.1.object_context_block`` (ours)::

    {conv1,bn1,conv2,bn2,layer1,transitionN,stageN}.*  -> backbone.<same>
    aux_head.0.weight            -> decode_head.0.convs.0.conv.weight
    aux_head.0.bias              -> folded into decode_head.0.convs.0.bn
    aux_head.1.*                 -> decode_head.0.convs.0.bn.*
    aux_head.3.{weight,bias}     -> decode_head.0.conv_seg.{weight,bias}
    conv3x3_ocr.0.weight         -> decode_head.1.bottleneck.conv.weight
    conv3x3_ocr.0.bias           -> folded into decode_head.1.bottleneck.bn
    conv3x3_ocr.1.*              -> decode_head.1.bottleneck.bn.*
    OCB.f_pixel.{0,2}.weight     -> OCB.query_project.{0,1}.conv.weight
    OCB.f_pixel.{1,3}.0.*        -> OCB.query_project.{0,1}.bn.*
    OCB.f_object.{0,2}.weight    -> OCB.key_project.{0,1}.conv.weight
    OCB.f_object.{1,3}.0.*       -> OCB.key_project.{0,1}.bn.*
    OCB.f_down.0.weight          -> OCB.value_project.conv.weight
    OCB.f_down.1.0.*             -> OCB.value_project.bn.*
    OCB.f_up.0.weight            -> OCB.out_project.conv.weight
    OCB.f_up.1.0.*               -> OCB.out_project.bn.*
    ocr_distri_head.conv_bn_dropout.0.weight -> OCB.bottleneck.conv.weight
    ocr_distri_head.conv_bn_dropout.1.0.*    -> OCB.bottleneck.bn.*
    cls_head.{weight,bias}       -> decode_head.1.conv_seg.{weight,bias}

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
exactly the keys and shapes of that official model, else the conversion is
refused with the missing / unknown / shape-mismatched keys named.

The official model interpolates with ``align_corners=True`` (its
``MODEL.ALIGN_CORNERS`` default and the released cityscapes / ADE / LIP /
PASCAL-Context models); to reproduce it use
``backbone.upsample_cfg=dict(mode='bilinear', align_corners=True)`` and
``align_corners=True`` in both decode heads.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

from . import (ConversionError, ConversionResult, compare_state_dicts,
               extract_state_dict, format_keys, raise_on_differences,
               register_converter)

ORIGIN = 'hrnet-official'

#: Human-readable mapping (official pattern, ours, note); used in docs and
#: the converter's meta.
MAPPING_TABLE = (
    ('{conv1,bn1,conv2,bn2,layer1,transition1-3,stage2-4}.*',
     'backbone.<same>', ''),
    ('aux_head.0.weight', 'decode_head.0.convs.0.conv.weight', ''),
    ('aux_head.0.bias', 'decode_head.0.convs.0.bn.running_mean',
     'folded: running_mean - bias'),
    ('aux_head.1.*', 'decode_head.0.convs.0.bn.*', ''),
    ('aux_head.3.{weight,bias}', 'decode_head.0.conv_seg.{weight,bias}', ''),
    ('conv3x3_ocr.0.weight', 'decode_head.1.bottleneck.conv.weight', ''),
    ('conv3x3_ocr.0.bias', 'decode_head.1.bottleneck.bn.running_mean',
     'folded: running_mean - bias'),
    ('conv3x3_ocr.1.*', 'decode_head.1.bottleneck.bn.*', ''),
    ('ocr_distri_head.object_context_block.f_pixel.{0,2}.weight',
     'decode_head.1.object_context_block.query_project.{0,1}.conv.weight', ''),
    ('ocr_distri_head.object_context_block.f_pixel.{1,3}.0.*',
     'decode_head.1.object_context_block.query_project.{0,1}.bn.*', ''),
    ('ocr_distri_head.object_context_block.f_object.{0,2}.weight',
     'decode_head.1.object_context_block.key_project.{0,1}.conv.weight', ''),
    ('ocr_distri_head.object_context_block.f_object.{1,3}.0.*',
     'decode_head.1.object_context_block.key_project.{0,1}.bn.*', ''),
    ('ocr_distri_head.object_context_block.f_down.0.weight',
     'decode_head.1.object_context_block.value_project.conv.weight', ''),
    ('ocr_distri_head.object_context_block.f_down.1.0.*',
     'decode_head.1.object_context_block.value_project.bn.*', ''),
    ('ocr_distri_head.object_context_block.f_up.0.weight',
     'decode_head.1.object_context_block.out_project.conv.weight', ''),
    ('ocr_distri_head.object_context_block.f_up.1.0.*',
     'decode_head.1.object_context_block.out_project.bn.*', ''),
    ('ocr_distri_head.conv_bn_dropout.0.weight',
     'decode_head.1.object_context_block.bottleneck.conv.weight', ''),
    ('ocr_distri_head.conv_bn_dropout.1.0.*',
     'decode_head.1.object_context_block.bottleneck.bn.*', ''),
    ('cls_head.{weight,bias}', 'decode_head.1.conv_seg.{weight,bias}', ''),
)

_BN_PARAMS = ('weight', 'bias', 'running_mean', 'running_var',
              'num_batches_tracked')
_EXPANSION = {'BASIC': 1, 'BOTTLENECK': 4}
_OCB = 'ocr_distri_head.object_context_block.'
_OUR_OCB = 'decode_head.1.object_context_block.'

# (regex on the official key, replacement); first match wins.
_RULES = (
    (r'^((?:conv1|bn1|conv2|bn2|layer1|transition\d+|stage\d+)\..+)$',
     r'backbone.\1'),
    (r'^aux_head\.0\.weight$', 'decode_head.0.convs.0.conv.weight'),
    (r'^aux_head\.1\.(\w+)$', r'decode_head.0.convs.0.bn.\1'),
    (r'^aux_head\.3\.(weight|bias)$', r'decode_head.0.conv_seg.\1'),
    (r'^conv3x3_ocr\.0\.weight$', 'decode_head.1.bottleneck.conv.weight'),
    (r'^conv3x3_ocr\.1\.(\w+)$', r'decode_head.1.bottleneck.bn.\1'),
    (r'^' + re.escape(_OCB) + r'f_pixel\.0\.weight$',
     _OUR_OCB + 'query_project.0.conv.weight'),
    (r'^' + re.escape(_OCB) + r'f_pixel\.1\.0\.(\w+)$',
     _OUR_OCB + r'query_project.0.bn.\1'),
    (r'^' + re.escape(_OCB) + r'f_pixel\.2\.weight$',
     _OUR_OCB + 'query_project.1.conv.weight'),
    (r'^' + re.escape(_OCB) + r'f_pixel\.3\.0\.(\w+)$',
     _OUR_OCB + r'query_project.1.bn.\1'),
    (r'^' + re.escape(_OCB) + r'f_object\.0\.weight$',
     _OUR_OCB + 'key_project.0.conv.weight'),
    (r'^' + re.escape(_OCB) + r'f_object\.1\.0\.(\w+)$',
     _OUR_OCB + r'key_project.0.bn.\1'),
    (r'^' + re.escape(_OCB) + r'f_object\.2\.weight$',
     _OUR_OCB + 'key_project.1.conv.weight'),
    (r'^' + re.escape(_OCB) + r'f_object\.3\.0\.(\w+)$',
     _OUR_OCB + r'key_project.1.bn.\1'),
    (r'^' + re.escape(_OCB) + r'f_down\.0\.weight$',
     _OUR_OCB + 'value_project.conv.weight'),
    (r'^' + re.escape(_OCB) + r'f_down\.1\.0\.(\w+)$',
     _OUR_OCB + r'value_project.bn.\1'),
    (r'^' + re.escape(_OCB) + r'f_up\.0\.weight$',
     _OUR_OCB + 'out_project.conv.weight'),
    (r'^' + re.escape(_OCB) + r'f_up\.1\.0\.(\w+)$',
     _OUR_OCB + r'out_project.bn.\1'),
    (r'^ocr_distri_head\.conv_bn_dropout\.0\.weight$',
     _OUR_OCB + 'bottleneck.conv.weight'),
    (r'^ocr_distri_head\.conv_bn_dropout\.1\.0\.(\w+)$',
     _OUR_OCB + r'bottleneck.bn.\1'),
    (r'^cls_head\.(weight|bias)$', r'decode_head.1.conv_seg.\1'),
)
_COMPILED_RULES = tuple((re.compile(p), r) for p, r in _RULES)

#: Official biased convs followed by a BN: conv bias key -> (official BN
#: prefix, our BN prefix).
FOLDED_BIASES = OrderedDict([
    ('aux_head.0.bias', ('aux_head.1', 'decode_head.0.convs.0.bn')),
    ('conv3x3_ocr.0.bias', ('conv3x3_ocr.1', 'decode_head.1.bottleneck.bn')),
])

_LOSS_PREFIXES = ('loss.', 'criterion.')


# ----------------------------------------------------------------------------
# expected keys / shapes of the official model
# ----------------------------------------------------------------------------


def _conv(spec, name, cout, cin, k, bias=False):
    spec[f'{name}.weight'] = (cout, cin, k, k)
    if bias:
        spec[f'{name}.bias'] = (cout, )


def _bn(spec, name, c):
    for p in _BN_PARAMS:
        spec[f'{name}.{p}'] = () if p == 'num_batches_tracked' else (c, )


def _block(spec, name, block, inplanes, planes, downsample):
    exp = _EXPANSION[block]
    if block == 'BASIC':
        _conv(spec, f'{name}.conv1', planes, inplanes, 3)
        _bn(spec, f'{name}.bn1', planes)
        _conv(spec, f'{name}.conv2', planes, planes, 3)
        _bn(spec, f'{name}.bn2', planes)
    else:
        _conv(spec, f'{name}.conv1', planes, inplanes, 1)
        _bn(spec, f'{name}.bn1', planes)
        _conv(spec, f'{name}.conv2', planes, planes, 3)
        _bn(spec, f'{name}.bn2', planes)
        _conv(spec, f'{name}.conv3', planes * exp, planes, 1)
        _bn(spec, f'{name}.bn3', planes * exp)
    if downsample:
        _conv(spec, f'{name}.downsample.0', planes * exp, inplanes, 1)
        _bn(spec, f'{name}.downsample.1', planes * exp)


def hrnet_backbone_spec(arch: dict) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of an HRNetV2 backbone (official = mmseg naming).

    Args:
        arch (dict): ``{'stage1': {'block', 'num_blocks', 'num_channels'},
            'stage2'..'stage4': {'num_modules', 'num_branches', 'block',
            'num_blocks', 'num_channels'}}`` (lists per branch, mmseg
            ``extra`` style, lower case).

    Returns:
        OrderedDict[str, tuple]: key -> shape, without a ``backbone.`` prefix.
    """
    spec = OrderedDict()
    _conv(spec, 'conv1', 64, 3, 3)
    _bn(spec, 'bn1', 64)
    _conv(spec, 'conv2', 64, 64, 3)
    _bn(spec, 'bn2', 64)

    s1 = arch['stage1']
    block, planes = s1['block'], s1['num_channels'][0]
    inplanes = 64
    for b in range(s1['num_blocks'][0]):
        _block(spec, f'layer1.{b}', block, inplanes, planes,
               b == 0 and inplanes != planes * _EXPANSION[block])
        inplanes = planes * _EXPANSION[block]
    pre = [inplanes]

    for s in (2, 3, 4):
        cfg = arch[f'stage{s}']
        block = cfg['block']
        exp = _EXPANSION[block]
        cur = [c * exp for c in cfg['num_channels']]
        # transition{s-1}
        for i, c_cur in enumerate(cur):
            name = f'transition{s - 1}.{i}'
            if i < len(pre):
                if c_cur != pre[i]:
                    _conv(spec, f'{name}.0', c_cur, pre[i], 3)
                    _bn(spec, f'{name}.1', c_cur)
            else:
                for j in range(i + 1 - len(pre)):
                    cin = pre[-1]
                    cout = c_cur if j == i - len(pre) else cin
                    _conv(spec, f'{name}.{j}.0', cout, cin, 3)
                    _bn(spec, f'{name}.{j}.1', cout)
        in_ch = list(cur)
        nb = cfg['num_branches']
        for m in range(cfg['num_modules']):
            name = f'stage{s}.{m}'
            for i in range(nb):
                planes = cfg['num_channels'][i]
                for k in range(cfg['num_blocks'][i]):
                    _block(spec, f'{name}.branches.{i}.{k}', block, in_ch[i],
                           planes, k == 0 and in_ch[i] != planes * exp)
                    in_ch[i] = planes * exp
            if nb == 1:
                continue
            for i in range(nb):  # multi-scale output in every module
                for j in range(nb):
                    fname = f'{name}.fuse_layers.{i}.{j}'
                    if j > i:
                        _conv(spec, f'{fname}.0', in_ch[i], in_ch[j], 1)
                        _bn(spec, f'{fname}.1', in_ch[i])
                    elif j < i:
                        for k in range(i - j):
                            cout = in_ch[i] if k == i - j - 1 else in_ch[j]
                            _conv(spec, f'{fname}.{k}.0', cout, in_ch[j], 3)
                            _bn(spec, f'{fname}.{k}.1', cout)
        pre = in_ch
    return spec


def official_head_spec(in_channels: int, mid_channels: int,
                       key_channels: int,
                       num_classes: int) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of the official OCR + auxiliary heads.

    Args:
        in_channels (int): Concatenated HRNet channels (270 for W18, 720 for
            W48).
        mid_channels (int): ``MODEL.OCR.MID_CHANNELS`` (512).
        key_channels (int): ``MODEL.OCR.KEY_CHANNELS`` (256).
        num_classes (int): ``DATASET.NUM_CLASSES``.

    Returns:
        OrderedDict[str, tuple]: Official key -> shape.
    """
    spec = OrderedDict()
    c, m, k, n = in_channels, mid_channels, key_channels, num_classes
    # aux head first: it becomes decode_head.0
    _conv(spec, 'aux_head.0', c, c, 1, bias=True)
    _bn(spec, 'aux_head.1', c)
    _conv(spec, 'aux_head.3', n, c, 1, bias=True)
    _conv(spec, 'conv3x3_ocr.0', m, c, 3, bias=True)
    _bn(spec, 'conv3x3_ocr.1', m)
    for proj in ('f_pixel', 'f_object'):
        _conv(spec, f'{_OCB}{proj}.0', k, m, 1)
        _bn(spec, f'{_OCB}{proj}.1.0', k)
        _conv(spec, f'{_OCB}{proj}.2', k, k, 1)
        _bn(spec, f'{_OCB}{proj}.3.0', k)
    _conv(spec, f'{_OCB}f_down.0', k, m, 1)
    _bn(spec, f'{_OCB}f_down.1.0', k)
    _conv(spec, f'{_OCB}f_up.0', m, k, 1)
    _bn(spec, f'{_OCB}f_up.1.0', m)
    _conv(spec, 'ocr_distri_head.conv_bn_dropout.0', m, 2 * m, 1)
    _bn(spec, 'ocr_distri_head.conv_bn_dropout.1.0', m)
    _conv(spec, 'cls_head', n, m, 1, bias=True)
    return spec


def official_key_spec(arch: dict) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of the whole official ``seg_hrnet_ocr`` model.

    Args:
        arch (dict): As returned by :func:`infer_official_arch`.

    Returns:
        OrderedDict[str, tuple]: Official key -> shape.
    """
    spec = hrnet_backbone_spec(arch)
    spec.update(
        official_head_spec(arch['in_channels'], arch['ocr_mid_channels'],
                           arch['ocr_key_channels'], arch['num_classes']))
    return spec


def ours_key_spec(arch: dict) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of the same model in our (= mmseg OCRNet) layout.

    Args:
        arch (dict): As returned by :func:`infer_official_arch`.

    Returns:
        OrderedDict[str, tuple]: Our key -> shape.
    """
    spec = OrderedDict()
    for key, shape in official_key_spec(arch).items():
        if key not in FOLDED_BIASES:
            spec[map_official_key(key)] = shape
    return spec


# ----------------------------------------------------------------------------
# architecture inference
# ----------------------------------------------------------------------------


def _max_index(keys, prefix) -> int:
    """1 + the largest integer right after ``prefix`` in ``keys`` (0 if
    none)."""
    pat = re.compile(re.escape(prefix) + r'(\d+)\.')
    idx = [int(m.group(1)) for m in map(pat.match, keys) if m]
    return max(idx) + 1 if idx else 0


def _require(sd, keys, prefix=''):
    missing = [k for k in keys if prefix + k not in sd]
    if missing:
        raise ConversionError(
            'not an HRNet-OCR checkpoint of the expected layout: missing '
            f'keys:\n{format_keys(prefix + k for k in missing)}')


def infer_hrnet_arch(sd: Dict[str, torch.Tensor],
                     prefix: str = '') -> dict:
    """Read the HRNet backbone architecture from its weights.

    Args:
        sd (dict[str, Tensor]): State dict (official or mmseg naming).
        prefix (str): Prefix of the backbone keys (``''`` official,
            ``'backbone.'`` mmseg).

    Returns:
        dict: ``stage1``..``stage4`` settings (see
        :func:`hrnet_backbone_spec`) and ``out_channels`` (per branch).

    Raises:
        ConversionError: Naming the missing anchor keys.
    """
    keys = [k[len(prefix):] for k in sd if k.startswith(prefix)]
    _require(sd, ['conv1.weight', 'layer1.0.conv1.weight'], prefix)
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
        _require(sd, [f'stage{s}.0.branches.0.0.conv1.weight'], prefix)
        nb = _max_index(keys, f'stage{s}.0.branches.')
        anchors = [f'stage{s}.0.branches.{i}.0.conv1.weight'
                   for i in range(nb)]
        _require(sd, anchors, prefix)
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
    exp = _EXPANSION[arch['stage4']['block']]
    arch['out_channels'] = [c * exp for c in arch['stage4']['num_channels']]
    return arch


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
    _require(sd, head_anchors)
    arch['in_channels'] = sum(arch['out_channels'])
    arch['ocr_mid_channels'] = int(sd['conv3x3_ocr.0.weight'].shape[0])
    arch['ocr_key_channels'] = int(sd[f'{_OCB}f_pixel.0.weight'].shape[0])
    arch['num_classes'] = int(sd['cls_head.weight'].shape[0])
    return arch


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


def map_official_key(key: str) -> str:
    """Map one official key to ours (folded biases are not mapped).

    Args:
        key (str): Official key without prefixes.

    Returns:
        str: Our key.

    Raises:
        KeyError: No rule matches ``key``.
    """
    for pat, repl in _COMPILED_RULES:
        if pat.match(key):
            return pat.sub(repl, key)
    raise KeyError(key)


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
    out = OrderedDict()
    stripped, dropped = set(), []
    for key, value in sd.items():
        new = key
        if new.startswith('module.'):
            new = new[len('module.'):]
            stripped.add('module.')
        if new.startswith(_LOSS_PREFIXES):
            dropped.append(key)
            continue
        if new.startswith('model.'):
            new = new[len('model.'):]
            stripped.add('model.')
        if new in out:
            raise ConversionError(
                f'keys collide after stripping wrapper prefixes: {key!r} -> '
                f'{new!r} is already present')
        out[new] = value
    return out, dict(
        stripped_prefixes=sorted(stripped), dropped_keys=dropped)


def _fill_num_batches_tracked(sd, spec) -> bool:
    """Add zero ``num_batches_tracked`` buffers when the checkpoint has none
    at all (pre-0.4.1 torch / InPlaceABN); partial absence stays missing."""
    nbt = [k for k in spec if k.endswith('.num_batches_tracked')]
    if nbt and not any(k in sd for k in nbt):
        for k in nbt:
            sd[k] = torch.tensor(0, dtype=torch.long)
        return True
    return False


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
    synthesized_nbt = _fill_num_batches_tracked(sd, spec)

    missing, unexpected, mismatched = compare_state_dicts(sd, spec)
    raise_on_differences(
        missing, unexpected, mismatched,
        'refusing to convert: the checkpoint does not match the official '
        f'HRNet-OCR model it describes (HRNet widths '
        f'{arch["stage4"]["num_channels"]}, {arch["num_classes"]} classes)',
        hint='unknown keys cannot be mapped; a missing or mis-shaped key '
        'means a truncated, modified or different model.' if unexpected else
        '')

    out = OrderedDict()
    folds = []
    for key in tqdm(
            spec, desc=f'converting ({ORIGIN})', unit='key',
            disable=not progress, leave=False):
        value = sd[key]
        if key in FOLDED_BIASES:
            continue
        out[map_official_key(key)] = value
    for bias_key, (off_bn, our_bn) in FOLDED_BIASES.items():
        bias = sd[bias_key]
        mean_key = f'{our_bn}.running_mean'
        mean = out[mean_key]
        if bias.shape != mean.shape:  # guarded by the spec; keep explicit
            raise ConversionError(
                f'cannot fold {bias_key} {tuple(bias.shape)} into '
                f'{off_bn}.running_mean {tuple(mean.shape)}: shapes differ')
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


def mapping_rows() -> List[Tuple[str, str, str]]:
    """The mapping table rows ``(official, ours, note)``.

    Returns:
        list[tuple[str, str, str]]: See :data:`MAPPING_TABLE`.
    """
    return list(MAPPING_TABLE)
