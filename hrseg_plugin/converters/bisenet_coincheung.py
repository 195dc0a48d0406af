"""``--from bisenet-coincheung``: CoinCheung/BiSeNet BiSeNetV1 -> ours.

Source: https://github.com/CoinCheung/BiSeNet, ``lib/models/bisenetv1.py``
and ``lib/models/resnet.py``, read at their latest commit
``6b4b67a8e3eb0cc23b3d7a94843a7c3c11dedca8`` (2026-04-04) and through the
history of ``bisenetv1.py``. Their ``BiSeNetV1`` is ``cp`` (ContextPath on
their ``Resnet18``), ``sp`` (SpatialPath), ``ffm``, ``conv_out`` and the
auxiliary ``conv_out16`` / ``conv_out32``. Ours: ``hrseg_plugin.BiSeNet``
(ResNet-18 context path, ``'coincheung'`` spatial path) +
``hrseg_plugin.FFMHead`` + two auxiliary heads,
``configs/bisenet_r18_coincheung.py``.

Their checkpoints come in four layouts, recognised by keys and shapes
(:data:`LAYOUTS`):

``current`` (commit ``e40b825``, 2021-07-13, unchanged at their latest
commit; the published ``model_final_v1_city_new.pth``)
    ``ffm.conv`` + ``ffm.bn`` (attention conv-BN-sigmoid); each
    ``conv_out*.conv_out`` predicts ``n_classes`` with bias, upsampled
    bilinearly (``align_corners=False``) by 8, 8, 16.
    Ours: ``configs/bisenet_r18_coincheung.py`` as it is.
``refactor-2021`` (``c0422a1``, 2021-07-07, one week)
    outputs as ``current``; FFM attention a two-layer MLP ``ffm.conv1``
    (C -> C/4), ReLU, ``ffm.conv2`` (C/4 -> C).
``pixel-shuffle`` (``12cd095``, 2020-09-29, to ``c0422a1``)
    MLP attention; ``conv_out*.conv_out`` predicts ``n_classes * r**2``
    channels with bias, pixel-shuffled by r = 8, 8, 16 (ours:
    ``FFMHead(pixel_shuffle_factor=8)`` and
    ``hrseg_plugin.PixelShuffleFCNHead`` auxiliary heads).
``original`` (``0471e80``, 2020-08-06, to ``12cd095``)
    MLP attention; ``conv_out*.conv_out`` predicts ``n_classes`` without
    bias; the outputs are interpolated to the input size with
    ``align_corners=True`` (our ``conv_seg`` biases are written as zeros).

The older layouts are ``configs/bisenet_r18_coincheung.py`` with the
``--cfg-options`` of :data:`LAYOUT_OPTIONS` (the meta's ``cfg_options`` and
``reproduce_with``, also printed by ``tools/convert_weights.py``).

Key mapping (theirs -> ours), :data:`RENAMES`; ``CP`` is
``backbone.context_path`` (their ResNet-18 has mmseg ``ResNet``'s keys)::

    cp.resnet.*                     -> CP.backbone.*
    cp.arm{16,32}.conv.*            -> CP.arm{16,32}.conv_layer.*
    cp.arm{16,32}.conv_atten.weight -> CP.arm{16,32}.attention.convs.0.conv
    cp.arm{16,32}.bn_atten.*        -> CP.arm{16,32}.attention.convs.0.bn.*
    cp.conv_head{16,32}.*           -> CP.conv_head{16,32}.*
    cp.conv_avg.*                   -> CP.gap_conv.*
    sp.conv{1,2,3}.*, sp.conv_out.* -> backbone.spatial_path.layer{1,2,3,4}.*
    ffm.convblk.*                   -> decode_head.fusion_conv.*
    ffm.conv.weight, ffm.bn.*       -> decode_head.attention.convs.0.{conv,bn}
    ffm.conv{1,2}.weight            -> decode_head.attention.convs.{0,1}.conv
    conv_out.conv.*                 -> decode_head.convs.0.*
    conv_out.conv_out.*             -> decode_head.conv_seg.*
    conv_out{16,32}.conv.*          -> auxiliary_head.{0,1}.convs.0.*
    conv_out{16,32}.conv_out.*      -> auxiliary_head.{0,1}.conv_seg.*

A ``module.`` prefix (DataParallel) is stripped. The checkpoint must have
exactly the keys and shapes of their model in its layout for its number of
classes, else the conversion is refused with the keys named. A checkpoint
saved with ``aux_mode='eval'`` / ``'pred'`` (no ``conv_out16/32``) converts
to a model without auxiliary heads (``model.auxiliary_head=None``).
"""
from collections import OrderedDict

import torch

from hrseg_plugin.utils.state_dicts import (DDP_PREFIX, compare_state_dicts,
                                            strip_prefix)
from ._keys import bn_spec, conv_module_spec, rename_key
from .checks import extract_state_dict, raise_on_differences
from .registry import ConversionError, ConversionResult, register_converter

ORIGIN = 'bisenet-coincheung'
CONFIG = 'configs/bisenet_r18_coincheung.py'

#: Layout -> (first upstream commit, what identifies it).
LAYOUTS = {
    'current': 'e40b825 (2021-07-13) to the latest commit: conv-BN FFM '
    'attention, outputs with bias upsampled bilinearly',
    'refactor-2021': 'c0422a1 (2021-07-07 to 2021-07-13): MLP FFM '
    'attention, outputs with bias upsampled bilinearly',
    'pixel-shuffle': '12cd095 (2020-09-29 to 2021-07-07): MLP FFM '
    'attention, pixel-shuffled outputs',
    'original': '0471e80 (2020-08-06 to 2020-09-29): MLP FFM attention, '
    'outputs without bias interpolated with align_corners=True',
}

_MLP_ATTENTION = {
    'model.decode_head.attention_cfg.reduction': 4,
    'model.decode_head.attention_cfg.norm_cfg': None,
}

#: Config overrides of :data:`CONFIG` per layout (auxiliary heads: the
#: ``{aux}`` entries, for ``auxiliary_head.0`` and ``.1``).
LAYOUT_OPTIONS = {
    'current': {},
    'refactor-2021': dict(_MLP_ATTENTION),
    'pixel-shuffle': dict(
        _MLP_ATTENTION, **{
            'model.decode_head.pixel_shuffle_factor': 8,
            '{aux}.type': 'hrseg_plugin.PixelShuffleFCNHead',
            '{aux}.pixel_shuffle_factor': (8, 16),
        }),
    'original': dict(
        _MLP_ATTENTION, **{
            'model.decode_head.align_corners': True,
            '{aux}.align_corners': True,
        }),
}

RENAMES = (
    (r'^cp\.resnet\.', 'backbone.context_path.backbone.'),
    (r'^cp\.(arm16|arm32)\.conv\.', r'backbone.context_path.\1.conv_layer.'),
    (r'^cp\.(arm16|arm32)\.conv_atten\.weight$',
     r'backbone.context_path.\1.attention.convs.0.conv.weight'),
    (r'^cp\.(arm16|arm32)\.bn_atten\.',
     r'backbone.context_path.\1.attention.convs.0.bn.'),
    (r'^cp\.(conv_head16|conv_head32)\.', r'backbone.context_path.\1.'),
    (r'^cp\.conv_avg\.', 'backbone.context_path.gap_conv.'),
    (r'^sp\.conv([123])\.', r'backbone.spatial_path.layer\1.'),
    (r'^sp\.conv_out\.', 'backbone.spatial_path.layer4.'),
    (r'^ffm\.convblk\.', 'decode_head.fusion_conv.'),
    (r'^ffm\.conv\.weight$', 'decode_head.attention.convs.0.conv.weight'),
    (r'^ffm\.bn\.', 'decode_head.attention.convs.0.bn.'),
    (r'^ffm\.conv1\.weight$', 'decode_head.attention.convs.0.conv.weight'),
    (r'^ffm\.conv2\.weight$', 'decode_head.attention.convs.1.conv.weight'),
    (r'^conv_out\.conv\.', 'decode_head.convs.0.'),
    (r'^conv_out\.conv_out\.', 'decode_head.conv_seg.'),
    (r'^conv_out16\.conv\.', 'auxiliary_head.0.convs.0.'),
    (r'^conv_out16\.conv_out\.', 'auxiliary_head.0.conv_seg.'),
    (r'^conv_out32\.conv\.', 'auxiliary_head.1.convs.0.'),
    (r'^conv_out32\.conv_out\.', 'auxiliary_head.1.conv_seg.'),
)

#: (name, in, mid, up factor) of their outputs.
OUTPUTS = (('conv_out', 256, 256, 8), ('conv_out16', 128, 64, 8),
           ('conv_out32', 128, 64, 16))


def resnet18_spec(prefix: str) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of their ``Resnet18`` (torchvision / mmseg layout)."""
    spec = OrderedDict()
    spec[prefix + 'conv1.weight'] = (64, 3, 7, 7)
    bn_spec(spec, prefix + 'bn1', 64)
    cin = 64
    for i, cout in enumerate((64, 128, 256, 512)):
        for b in range(2):
            name = f'{prefix}layer{i + 1}.{b}.'
            spec[name + 'conv1.weight'] = (cout, cin, 3, 3)
            bn_spec(spec, name + 'bn1', cout)
            spec[name + 'conv2.weight'] = (cout, cout, 3, 3)
            bn_spec(spec, name + 'bn2', cout)
            if cin != cout:
                spec[name + 'downsample.0.weight'] = (cout, cin, 1, 1)
                bn_spec(spec, name + 'downsample.1', cout)
            cin = cout
    return spec


def coincheung_spec(num_classes: int, layout: str,
                    aux: bool = True) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of their BiSeNetV1.

    Args:
        num_classes (int): ``n_classes``.
        layout (str): A key of :data:`LAYOUTS`.
        aux (bool): With ``conv_out16`` / ``conv_out32``.

    Returns:
        OrderedDict[str, tuple]: key -> shape.
    """
    spec = resnet18_spec('cp.resnet.')
    for name, cin in (('arm16', 256), ('arm32', 512)):
        conv_module_spec(spec, f'cp.{name}.conv', 128, cin, 3)
        spec[f'cp.{name}.conv_atten.weight'] = (128, 128, 1, 1)
        bn_spec(spec, f'cp.{name}.bn_atten', 128)
    conv_module_spec(spec, 'cp.conv_head32', 128, 128, 3)
    conv_module_spec(spec, 'cp.conv_head16', 128, 128, 3)
    conv_module_spec(spec, 'cp.conv_avg', 128, 512, 1)
    for name, cout, cin, k in (('conv1', 64, 3, 7), ('conv2', 64, 64, 3),
                               ('conv3', 64, 64, 3), ('conv_out', 128, 64, 1)):
        conv_module_spec(spec, f'sp.{name}', cout, cin, k)
    conv_module_spec(spec, 'ffm.convblk', 256, 256, 1)
    if layout == 'current':
        spec['ffm.conv.weight'] = (256, 256, 1, 1)
        bn_spec(spec, 'ffm.bn', 256)
    else:
        spec['ffm.conv1.weight'] = (64, 256, 1, 1)
        spec['ffm.conv2.weight'] = (256, 64, 1, 1)
    for name, cin, mid, up in OUTPUTS if aux else OUTPUTS[:1]:
        conv_module_spec(spec, f'{name}.conv', mid, cin, 3)
        cout = num_classes * up * up if layout == 'pixel-shuffle' else \
            num_classes
        spec[f'{name}.conv_out.weight'] = (cout, mid, 1, 1)
        if layout != 'original':
            spec[f'{name}.conv_out.bias'] = (cout, )
    return spec


def _strip_module_prefix(sd):
    if sd and all(k.startswith(DDP_PREFIX) for k in sd):
        return strip_prefix(sd, DDP_PREFIX), [DDP_PREFIX]
    return sd, []


def detect_layout(sd) -> tuple:
    """Recognise the layout of one of their state dicts.

    Args:
        sd (dict): Their state dict (no ``module.`` prefix).

    Returns:
        tuple[str, int, bool]: Layout (a key of :data:`LAYOUTS`), number of
        classes, whether the auxiliary outputs are there.

    Raises:
        ConversionError: Not their BiSeNetV1.
    """
    key = 'conv_out.conv_out.weight'
    if key not in sd or 'ffm.convblk.conv.weight' not in sd:
        raise ConversionError(
            'refusing: not a CoinCheung/BiSeNet BiSeNetV1 checkpoint (no '
            f'{key} / ffm.convblk.conv.weight); their BiSeNetV2 is not '
            'supported')
    aux = any(k.startswith('conv_out16.') for k in sd)
    cout = int(sd[key].shape[0])
    if 'conv_out.conv_out.bias' not in sd:
        return 'original', cout, aux
    if 'ffm.conv1.weight' not in sd:  # conv-BN attention (or broken)
        return 'current', cout, aux
    # MLP attention with biased outputs: pixel shuffle predicts r**2 = 64
    # (main) and 256 (conv_out32) times the classes, the refactor the
    # classes themselves
    aux32 = sd.get('conv_out32.conv_out.weight')
    if aux32 is not None:
        shuffled = int(aux32.shape[0]) == 4 * cout
    else:  # no auxiliary output: by the main output alone
        shuffled = cout % 64 == 0
    if shuffled:
        return 'pixel-shuffle', cout // 64, aux
    return 'refactor-2021', cout, aux


def layout_cfg_options(layout: str, num_classes: int,
                       aux: bool) -> 'OrderedDict[str, object]':
    """The ``--cfg-options`` that make :data:`CONFIG` their model in
    ``layout`` with ``num_classes`` classes (and no auxiliary heads when
    ``aux`` is False)."""
    heads = ['model.decode_head'] + (
        ['model.auxiliary_head.0', 'model.auxiliary_head.1'] if aux else [])
    options = OrderedDict(
        (f'{head}.num_classes', num_classes) for head in heads)
    if not aux:
        options['model.auxiliary_head'] = None
    for key, value in LAYOUT_OPTIONS[layout].items():
        if not key.startswith('{aux}'):
            options[key] = value
        elif aux:
            for i, head in enumerate(heads[1:]):
                options[key.format(aux=head)] = value[i] if isinstance(
                    value, tuple) else value
    return options


@register_converter(
    ORIGIN, 'CoinCheung/BiSeNet BiSeNetV1 (all four layouts since 2020) -> '
    f'hrseg_plugin.BiSeNet + FFMHead ({CONFIG})')
def convert_bisenet_coincheung(checkpoint: dict,
                               progress: bool = False) -> ConversionResult:
    """Convert a CoinCheung/BiSeNet BiSeNetV1 checkpoint to our layout.

    Args:
        checkpoint (dict): Loaded file: their bare state dict (``torch.save(
            net.state_dict())``), possibly ``module.``-prefixed, or a dict
            with a ``'state_dict'`` / ``'model'`` entry.
        progress (bool): Show a tqdm progress bar over the keys.

    Returns:
        ConversionResult: Our state dict; meta with the layout, the number
        of classes, the config and the ``--cfg-options`` that reproduce
        their model.

    Raises:
        ConversionError: Not their BiSeNetV1, or missing / unknown /
            shape-mismatched keys (named).
    """
    from tqdm import tqdm

    raw, _, container = extract_state_dict(checkpoint)
    sd, stripped = _strip_module_prefix(raw)
    layout, num_classes, aux = detect_layout(sd)
    raise_on_differences(
        *compare_state_dicts(sd, coincheung_spec(num_classes, layout, aux)),
        "refusing to convert: the checkpoint does not match CoinCheung's "
        f'BiSeNetV1 ({layout} layout: {LAYOUTS[layout]}; {num_classes} '
        'classes)')

    out = OrderedDict()
    for key in tqdm(sd, desc=f'converting ({ORIGIN})', unit='key',
                    disable=not progress, leave=False):
        out[rename_key(key, RENAMES)] = sd[key]
    zero_biases = []
    if layout == 'original':  # their outputs have no bias; ours do
        heads = ['decode_head'] + (['auxiliary_head.0', 'auxiliary_head.1']
                                   if aux else [])
        for head in heads:
            out[f'{head}.conv_seg.bias'] = torch.zeros(num_classes)
            zero_biases.append(f'{head}.conv_seg.bias')

    options = layout_cfg_options(layout, num_classes, aux)
    meta = dict(
        origin=ORIGIN,
        source_repo='CoinCheung/BiSeNet, lib/models/bisenetv1.py',
        source_container=container,
        version=layout,
        layout_history=LAYOUTS[layout],
        num_classes=num_classes,
        stripped_prefixes=stripped,
        zero_biases=zero_biases,
        config=CONFIG,
        reproduce_with=f'{CONFIG} with --cfg-options ' + ' '.join(
            f'{k}={v}' for k, v in options.items()),
        cfg_options=dict(options))
    return ConversionResult(out, meta)
