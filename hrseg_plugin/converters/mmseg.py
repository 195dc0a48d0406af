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

Missing / unexpected / shape-mismatched keys are named in the refusal. The
full check against a model is ``--config`` (see
:func:`hrseg_plugin.converters.check_state_dict_against_config`).
"""
from collections import OrderedDict

from . import (ConversionError, ConversionResult, compare_state_dicts,
               extract_state_dict, format_keys, raise_on_differences,
               register_converter)
from .hrnet_official import (infer_hrnet_arch, hrnet_backbone_spec,
                             ours_key_spec)

ORIGIN = 'mmseg'

#: Top-level components of an mmseg segmentor's state dict.
SEGMENTOR_PREFIXES = ('backbone.', 'neck.', 'decode_head.',
                      'auxiliary_head.')

_OCB = 'decode_head.1.object_context_block.'


def _validate_hrnet_ocr(sd) -> dict:
    """Validate HRNet backbone / OCRNet decode-head keys; return what was
    recognised (for the meta). All differences are reported at once."""
    found = {}
    if not any(k.startswith('backbone.stage2.0.fuse_layers.') for k in sd):
        return found
    arch = infer_hrnet_arch(sd, prefix='backbone.')
    widths = list(arch['stage4']['num_channels'])
    found['backbone'] = dict(type='HRNet', widths=widths)
    expected = OrderedDict(('backbone.' + k, v)
                           for k, v in hrnet_backbone_spec(arch).items())
    checked = {k: v for k, v in sd.items() if k.startswith('backbone.')}
    what = f'the backbone keys do not match the HRNet they describe ' \
        f'(widths {widths})'

    if any(k.startswith(_OCB) for k in sd):
        anchors = [
            'decode_head.1.bottleneck.conv.weight',
            _OCB + 'query_project.0.conv.weight',
            'decode_head.1.conv_seg.weight'
        ]
        missing = [k for k in anchors if k not in sd]
        if missing:
            raise ConversionError('refusing: incomplete OCRNet decode head, '
                                  f'missing keys:\n{format_keys(missing)}')
        arch['in_channels'] = sum(arch['out_channels'])
        arch['ocr_mid_channels'] = int(sd[anchors[0]].shape[0])
        arch['ocr_key_channels'] = int(sd[anchors[1]].shape[0])
        arch['num_classes'] = int(sd[anchors[2]].shape[0])
        expected.update((k, v) for k, v in ours_key_spec(arch).items()
                        if k.startswith('decode_head.'))
        checked.update(
            (k, v) for k, v in sd.items() if k.startswith('decode_head.'))
        what = ('the backbone / decode_head keys do not match an HRNet '
                f'(widths {widths}) + [FCNHead, OCRHead] '
                f'({arch["num_classes"]} classes) OCRNet')
        found['decode_head'] = dict(
            type='[FCNHead, OCRHead]',
            num_classes=arch['num_classes'],
            channels=arch['ocr_mid_channels'],
            ocr_channels=arch['ocr_key_channels'])
    raise_on_differences(*compare_state_dicts(checked, expected),
                         f'refusing: {what}')
    return found


@register_converter(
    ORIGIN, 'stock MMSegmentation checkpoint (HRNet / OCRNet keys are '
    'already ours): validated copy, meta kept')
def convert_mmseg(checkpoint: dict,
                  progress: bool = False) -> ConversionResult:
    """Copy a stock mmseg checkpoint's state dict after validating it.

    Args:
        checkpoint (dict): Loaded mmseg / mmengine checkpoint
            (``{'state_dict': ..., 'meta': ...}``) or a bare state dict.
        progress (bool): Show a tqdm progress bar over the keys.

    Returns:
        ConversionResult: The same keys and tensors; ``meta`` is the input
        meta plus the conversion info.

    Raises:
        ConversionError: Not a segmentor state dict (keys outside
            ``backbone/neck/decode_head/auxiliary_head`` are named), or an
            HRNet / OCRNet part whose keys are missing / unexpected /
            mis-shaped (named).
    """
    from tqdm import tqdm

    sd, src_meta, container = extract_state_dict(checkpoint)
    foreign = [k for k in sd if not k.startswith(SEGMENTOR_PREFIXES)]
    if foreign:
        hint = ''
        official = ('conv3x3_ocr.', 'ocr_distri_head.', 'cls_head.')
        if any(k.split('.', 1)[-1].startswith(official) or
               k.startswith(official) for k in foreign):
            hint = ('\n  (this looks like an official HRNet-OCR checkpoint: '
                    'use --from hrnet-official)')
        elif any(k.startswith(('module.', 'model.')) for k in foreign):
            hint = ("\n  (keys carry a wrapper prefix such as 'module.'; "
                    '--from mmseg strips nothing)')
        raise ConversionError(
            'refusing: not an mmseg segmentor state dict; keys outside '
            f'{"/".join(p[:-1] for p in SEGMENTOR_PREFIXES)} '
            f'({len(foreign)}):\n{format_keys(foreign)}{hint}')
    found = _validate_hrnet_ocr(sd)

    out = OrderedDict()
    for key in tqdm(
            sd, desc=f'converting ({ORIGIN})', unit='key',
            disable=not progress, leave=False):
        out[key] = sd[key]

    meta = dict(src_meta)
    meta.update(
        origin=ORIGIN, source_container=container, recognised=found)
    return ConversionResult(out, meta)
