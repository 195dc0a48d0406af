"""``--from bisenet-coincheung``: CoinCheung/BiSeNet BiSeNetV1 -> ours.

Source model: https://github.com/CoinCheung/BiSeNet, ``lib/models/
bisenetv1.py`` (``BiSeNetV1`` with ``cp`` = ContextPath on their own
``Resnet18``, ``sp`` = SpatialPath, ``ffm``, ``conv_out`` and the auxiliary
``conv_out16`` / ``conv_out32``). Target: ``hrseg_plugin.BiSeNet`` (ResNet-18
context path, ``'coincheung'`` spatial path) + ``hrseg_plugin.FFMHead`` +
two auxiliary heads, as ``configs/bisenet_r18_coincheung.py``.

Both versions of their model are recognised, by the output convs:

* current (``model_final_v1_city_new.pth``): ``conv_out*.conv_out`` predicts
  ``n_classes * up_factor**2`` channels (with bias) that are pixel-shuffled
  to full resolution (up factors 8, 8, 16). Ours: ``FFMHead`` and
  ``hrseg_plugin.PixelShuffleFCNHead`` auxiliary heads with
  ``pixel_shuffle_factor`` 8, 8, 16: ``configs/bisenet_r18_coincheung.py``
  as it is;
* earlier (``model_final_v1_city.pth``): ``conv_out*.conv_out`` predicts
  ``n_classes`` channels without bias, upsampled bilinearly with
  ``align_corners=True``. Ours: the same config with
  ``pixel_shuffle_factor=1`` and ``align_corners=True`` in all three heads
  (the meta's ``reproduce_with``); the missing ``conv_seg`` biases are
  zeros.

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
    ffm.conv{1,2}.weight            -> decode_head.attention.convs.{0,1}.conv
    conv_out.conv.*                 -> decode_head.convs.0.*
    conv_out.conv_out.*             -> decode_head.conv_seg.*
    conv_out{16,32}.conv.*          -> auxiliary_head.{0,1}.convs.0.*
    conv_out{16,32}.conv_out.*      -> auxiliary_head.{0,1}.conv_seg.*

A ``module.`` prefix (DataParallel) is stripped. The checkpoint must have
exactly the keys and shapes of their model for its number of classes, else
the conversion is refused with the keys named. A checkpoint saved with
``output_aux=False`` (no ``conv_out16/32``) converts to a model without
auxiliary heads (``model.auxiliary_head=None``).
"""
from collections import OrderedDict

import torch

from . import (ConversionError, ConversionResult, compare_state_dicts,
               extract_state_dict, raise_on_differences, register_converter)
from .mmseg import bn_spec, conv_module_spec, rename_key

ORIGIN = 'bisenet-coincheung'

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
    (r'^ffm\.conv1\.weight$', 'decode_head.attention.convs.0.conv.weight'),
    (r'^ffm\.conv2\.weight$', 'decode_head.attention.convs.1.conv.weight'),
    (r'^conv_out\.conv\.', 'decode_head.convs.0.'),
    (r'^conv_out\.conv_out\.', 'decode_head.conv_seg.'),
    (r'^conv_out16\.conv\.', 'auxiliary_head.0.convs.0.'),
    (r'^conv_out16\.conv_out\.', 'auxiliary_head.0.conv_seg.'),
    (r'^conv_out32\.conv\.', 'auxiliary_head.1.convs.0.'),
    (r'^conv_out32\.conv_out\.', 'auxiliary_head.1.conv_seg.'),
)

#: (name, in, mid, up factor of the current version) of the outputs.
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


def coincheung_spec(num_classes: int, legacy: bool,
                    aux: bool = True) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of their BiSeNetV1.

    Args:
        num_classes (int): ``n_classes``.
        legacy (bool): The earlier version (outputs without bias and pixel
            shuffle).
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
    spec['ffm.conv1.weight'] = (64, 256, 1, 1)
    spec['ffm.conv2.weight'] = (256, 64, 1, 1)
    for name, cin, mid, up in OUTPUTS if aux else OUTPUTS[:1]:
        conv_module_spec(spec, f'{name}.conv', mid, cin, 3)
        cout = num_classes if legacy else num_classes * up * up
        spec[f'{name}.conv_out.weight'] = (cout, mid, 1, 1)
        if not legacy:
            spec[f'{name}.conv_out.bias'] = (cout, )
    return spec


def _strip_module_prefix(sd):
    if sd and all(k.startswith('module.') for k in sd):
        return OrderedDict((k[len('module.'):], v) for k, v in sd.items()), \
            ['module.']
    return sd, []


def _infer(sd):
    """(num_classes, legacy, aux) from the main output conv."""
    key = 'conv_out.conv_out.weight'
    if key not in sd or 'ffm.convblk.conv.weight' not in sd:
        raise ConversionError(
            'refusing: not a CoinCheung/BiSeNet BiSeNetV1 checkpoint (no '
            f'{key} / ffm.convblk.conv.weight); their BiSeNetV2 is not '
            'supported')
    aux = any(k.startswith('conv_out16.') for k in sd)
    cout = int(sd[key].shape[0])
    if 'conv_out.conv_out.bias' in sd:
        if cout % 64:
            raise ConversionError(
                f'refusing: {key} has {cout} outputs, not n_classes * 8**2 '
                'as in their current BiSeNetOutput(up_factor=8)')
        return cout // 64, False, aux
    return cout, True, aux


@register_converter(
    ORIGIN, 'CoinCheung/BiSeNet BiSeNetV1 (current and earlier version) -> '
    'hrseg_plugin.BiSeNet + FFMHead (configs/bisenet_r18_coincheung.py)')
def convert_bisenet_coincheung(checkpoint: dict,
                               progress: bool = False) -> ConversionResult:
    """Convert a CoinCheung/BiSeNet BiSeNetV1 checkpoint to our layout.

    Args:
        checkpoint (dict): Loaded file: their bare state dict (``torch.save(
            net.state_dict())``), possibly ``module.``-prefixed, or a dict
            with a ``'state_dict'`` / ``'model'`` entry.
        progress (bool): Show a tqdm progress bar over the keys.

    Returns:
        ConversionResult: Our state dict; meta with the version, the number
        of classes and the config overrides that reproduce the model.

    Raises:
        ConversionError: Not their BiSeNetV1, or missing / unknown /
            shape-mismatched keys (named).
    """
    from tqdm import tqdm

    raw, _, container = extract_state_dict(checkpoint)
    sd, stripped = _strip_module_prefix(raw)
    num_classes, legacy, aux = _infer(sd)
    version = 'earlier (no pixel shuffle)' if legacy else 'current'
    raise_on_differences(
        *compare_state_dicts(sd, coincheung_spec(num_classes, legacy, aux)),
        'refusing to convert: the checkpoint does not match CoinCheung\'s '
        f'BiSeNetV1 ({version} version, {num_classes} classes)')

    out = OrderedDict()
    for key in tqdm(sd, desc=f'converting ({ORIGIN})', unit='key',
                    disable=not progress, leave=False):
        out[rename_key(key, RENAMES)] = sd[key]
    zero_biases = []
    if legacy:  # their outputs have no bias; ours (conv_seg) do
        heads = ['decode_head'] + (['auxiliary_head.0', 'auxiliary_head.1']
                                   if aux else [])
        for head in heads:
            out[f'{head}.conv_seg.bias'] = torch.zeros(num_classes)
            zero_biases.append(f'{head}.conv_seg.bias')

    options = {'model.decode_head.num_classes': num_classes}
    if aux:
        options.update({f'model.auxiliary_head.{i}.num_classes': num_classes
                        for i in (0, 1)})
    else:
        options['model.auxiliary_head'] = None
    if legacy:
        options['model.decode_head.pixel_shuffle_factor'] = 1
        options['model.decode_head.align_corners'] = True
        if aux:
            for i in (0, 1):
                options[f'model.auxiliary_head.{i}.pixel_shuffle_factor'] = 1
                options[f'model.auxiliary_head.{i}.align_corners'] = True
    meta = dict(
        origin=ORIGIN,
        source_repo='CoinCheung/BiSeNet, lib/models/bisenetv1.py',
        source_container=container,
        version=version,
        num_classes=num_classes,
        stripped_prefixes=stripped,
        zero_biases=zero_biases,
        reproduce_with='configs/bisenet_r18_coincheung.py with '
        '--cfg-options ' + ' '.join(f'{k}={v}' for k, v in options.items()),
        cfg_options=options)
    return ConversionResult(out, meta)
