"""``--from mmseg``: stock MMSegmentation checkpoints -> hrseg_plugin.

For HRNet / OCRNet our modules (``hrseg_plugin.HRNet``,
``hrseg_plugin.OCRHead``) have exactly the state-dict keys and shapes of
stock mmseg's ``HRNet`` / ``OCRHead``, so the conversion copies the state
dict unchanged (no prefix is stripped, no key renamed) and keeps the
checkpoint's ``meta`` (``dataset_meta`` etc.), adding the conversion info.

It still validates:

* the input holds a state dict of tensors whose keys all belong to a
  segmentor (``backbone.``, ``neck.``, ``decode_head.``, ``auxiliary_head.``);
* when the backbone is an HRNet (``backbone.stage2.0.fuse_layers.*``), the
  backbone keys must be exactly those of the HRNet their shapes describe;
* when the decode head is the OCRNet cascade
  (``decode_head.1.object_context_block.*``), the ``decode_head.*`` keys must
  be exactly those of ``[FCNHead, OCRHead]`` for that backbone.

BiSeNetV1 (``backbone.ffm.*`` and ``backbone.context_path.*``) is the one
stock model whose layout differs from ours: stock mmseg keeps the Feature
Fusion Module inside the backbone, we make it the decode head
(``hrseg_plugin.BiSeNet`` + ``hrseg_plugin.FFMHead``). Its keys are renamed
by :data:`BISENET_RENAMES`; every other key (the context backbone
``backbone.context_path.backbone.*``, the spatial path, the ARMs' 3x3 convs,
``conv_head16/32``, the FCN convs and ``conv_seg`` of the decode head, the
auxiliary heads) keeps its name::

    backbone.context_path.X -> backbone.context_path.Y for (X -> Y):
        arm{16,32}.atten_conv_layer.1.*  -> arm{16,32}.attention.convs.0.*
        gap_conv.1.*                     -> gap_conv.*
    backbone.ffm.conv1.*                 -> decode_head.fusion_conv.*
    backbone.ffm.conv_atten.0.*          -> decode_head.attention.convs.0.*

Before renaming, the spatial path, context path modules, FFM and decode head
keys must be exactly those of the BiSeNetV1 their shapes describe. The model
is then ours as configured in ``configs/bisenet_r18.py`` (stock's FFM
attention: ``attention_cfg=dict(reduction=None, norm_cfg=..,
act_before_sigmoid=True)``, nearest upsampling, ``'coincheung'`` spatial
path).

Missing / unexpected / shape-mismatched keys are named in the refusal. The
full check against a model is ``--config`` (see
:func:`hrseg_plugin.converters.check_state_dict_against_config`).
"""
from collections import OrderedDict

from hrseg_plugin.utils.state_dicts import compare_state_dicts
from ._hrnet import validate_hrnet_keys
from ._keys import conv_module_spec
from .checks import (copy_validated, extract_state_dict, raise_on_differences,
                     refuse_foreign_keys)
from .registry import ConversionError, ConversionResult, register_converter

ORIGIN = 'mmseg'

#: Top-level components of an mmseg segmentor's state dict.
SEGMENTOR_PREFIXES = ('backbone.', 'neck.', 'decode_head.',
                      'auxiliary_head.')

#: BiSeNetV1 (stock mmseg) -> ours: (pattern, replacement); other keys keep
#: their names.
BISENET_RENAMES = (
    (r'^backbone\.context_path\.(arm16|arm32)\.atten_conv_layer\.1\.',
     r'backbone.context_path.\1.attention.convs.0.'),
    (r'^backbone\.context_path\.gap_conv\.1\.',
     'backbone.context_path.gap_conv.'),
    (r'^backbone\.ffm\.conv1\.', 'decode_head.fusion_conv.'),
    (r'^backbone\.ffm\.conv_atten\.0\.', 'decode_head.attention.convs.0.'),
)
_BISENET_ANCHOR = 'backbone.ffm.conv1.conv.weight'
_CTX = 'backbone.context_path.'
def _shape(sd, key):
    if key not in sd:
        raise ConversionError(f'refusing: incomplete BiSeNetV1, missing key '
                              f'{key}')
    return tuple(sd[key].shape)


def infer_bisenet_arch(sd) -> dict:
    """Read a stock BiSeNetV1's widths, kernel sizes and number of classes
    from its keys (``backbone.spatial_path``, ``arm16/32``, ``ffm``,
    ``decode_head``)."""
    spatial = []
    while f'backbone.spatial_path.layer{len(spatial) + 1}.conv.weight' in sd:
        w = sd[f'backbone.spatial_path.layer{len(spatial) + 1}.conv.weight']
        spatial.append((int(w.shape[0]), int(w.shape[2])))
    if not spatial:
        raise ConversionError('refusing: BiSeNetV1 without spatial path keys '
                              '(backbone.spatial_path.layer1.conv.weight)')
    arm16 = _shape(sd, _CTX + 'arm16.conv_layer.conv.weight')
    arm32 = _shape(sd, _CTX + 'arm32.conv_layer.conv.weight')
    decode = []
    while f'decode_head.convs.{len(decode)}.conv.weight' in sd:
        w = sd[f'decode_head.convs.{len(decode)}.conv.weight']
        decode.append((int(w.shape[0]), int(w.shape[2])))
    return dict(
        in_channels=int(sd['backbone.spatial_path.layer1.conv.weight']
                        .shape[1]),
        spatial=spatial,
        context_channels=arm16[0],
        backbone_channels=(arm16[1], arm32[1]),
        ffm_channels=_shape(sd, _BISENET_ANCHOR)[0],
        decode_convs=decode,
        num_classes=_shape(sd, 'decode_head.conv_seg.weight')[0])


def bisenet_mmseg_spec(arch: dict) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of a stock BiSeNetV1's spatial path, context path
    modules (not its backbone), FFM and FCN decode head."""
    spec = OrderedDict()
    cin = arch['in_channels']
    for i, (cout, k) in enumerate(arch['spatial']):
        conv_module_spec(spec, f'backbone.spatial_path.layer{i + 1}', cout,
                         cin, k)
        cin = cout
    c = arch['context_channels']
    for name, cb in zip(('arm16', 'arm32'), arch['backbone_channels']):
        conv_module_spec(spec, f'{_CTX}{name}.conv_layer', c, cb, 3)
        conv_module_spec(spec, f'{_CTX}{name}.atten_conv_layer.1', c, c, 1)
    conv_module_spec(spec, _CTX + 'conv_head32', c, c, 3)
    conv_module_spec(spec, _CTX + 'conv_head16', c, c, 3)
    conv_module_spec(spec, _CTX + 'gap_conv.1', c,
                     arch['backbone_channels'][1], 1)
    f = arch['ffm_channels']
    conv_module_spec(spec, 'backbone.ffm.conv1', f, cin + c, 1)
    conv_module_spec(spec, 'backbone.ffm.conv_atten.0', f, f, 1)
    cin = f
    for j, (cout, k) in enumerate(arch['decode_convs']):
        conv_module_spec(spec, f'decode_head.convs.{j}', cout, cin, k)
        cin = cout
    spec['decode_head.conv_seg.weight'] = (arch['num_classes'], cin, 1, 1)
    spec['decode_head.conv_seg.bias'] = (arch['num_classes'], )
    return spec


def _convert_bisenet(sd) -> dict:
    """Validate a stock BiSeNetV1 state dict (all differences at once) and
    return what was recognised; the caller renames."""
    arch = infer_bisenet_arch(sd)
    spec = bisenet_mmseg_spec(arch)
    checked = {
        k: v
        for k, v in sd.items()
        if k.startswith(('backbone.', 'decode_head.'))
        and not k.startswith(_CTX + 'backbone.')
    }
    raise_on_differences(
        *compare_state_dicts(checked, spec),
        'refusing: the BiSeNetV1 keys do not match the model they describe '
        f'(spatial path {arch["spatial"]}, context width '
        f'{arch["context_channels"]}, {arch["num_classes"]} classes)',
        hint='stock BiSeNetV1 + FCNHead(concat_input=False) is expected')
    return dict(
        backbone=dict(type='BiSeNetV1 -> hrseg_plugin.BiSeNet',
                      spatial=arch['spatial'],
                      context_channels=arch['context_channels'],
                      context_backbone_channels=list(
                          arch['backbone_channels'])),
        decode_head=dict(type='BiSeNetV1.ffm + FCNHead -> '
                         'hrseg_plugin.FFMHead',
                         channels=arch['ffm_channels'],
                         num_convs=len(arch['decode_convs']),
                         num_classes=arch['num_classes']))


@register_converter(
    ORIGIN, 'stock MMSegmentation checkpoint (HRNet / OCRNet keys are '
    'already ours; BiSeNetV1 FFM moved to the decode head): validated copy, '
    'meta kept')
def convert_mmseg(checkpoint: dict,
                  progress: bool = False) -> ConversionResult:
    """Copy a stock mmseg checkpoint's state dict after validating it.

    Args:
        checkpoint (dict): Loaded mmseg / mmengine checkpoint
            (``{'state_dict': ..., 'meta': ...}``) or a bare state dict.
        progress (bool): Show a tqdm progress bar over the keys.

    Returns:
        ConversionResult: The same tensors, under the same keys except for
        BiSeNetV1 (:data:`BISENET_RENAMES`); ``meta`` is the input meta plus
        the conversion info.

    Raises:
        ConversionError: Not a segmentor state dict (keys outside
            ``backbone/neck/decode_head/auxiliary_head`` are named), or an
            HRNet / OCRNet / BiSeNetV1 part whose keys are missing /
            unexpected / mis-shaped (named).
    """
    sd, src_meta, container = extract_state_dict(checkpoint)
    refuse_foreign_keys(sd, SEGMENTOR_PREFIXES, 'an mmseg segmentor', ORIGIN)
    bisenet = _BISENET_ANCHOR in sd
    found = _convert_bisenet(sd) if bisenet else validate_hrnet_keys(sd)
    renames = BISENET_RENAMES if bisenet else ()

    result = copy_validated(sd, src_meta, container, ORIGIN, found, progress,
                            renames)
    if bisenet:
        result.meta['renamed'] = [f'{p} -> {r}' for p, r in BISENET_RENAMES]
        result.meta['reproduce_with'] = (
            'configs/bisenet_r18.py (ResNet-18 context path; other depths: '
            'its backbone_cfg, context / spatial / head widths)')
    return result
