"""``--from mmpretrain``: stock MMPretrain HRNet classifiers -> hrseg_plugin.

Source model: open-mmlab/mmpretrain at commit
``ee7f2e88501f61aa95c742dd5f429f039935ee90`` (= the pinned 1.2.0 in these
files): ``mmpretrain/models/backbones/hrnet.py`` (``HRNet``),
``mmpretrain/models/necks/hr_fuse.py`` (``HRFuseScales``) and
``LinearClsHead`` inside an ``ImageClassifier``, as in
``configs/hrnet/hrnet-w18_4xb32_in1k.py``::

    backbone.*                                   HRNet, all branches out
    neck.0.increase_layers.{i}.0.*               Bottleneck per branch
    neck.0.downsample_layers.{i}.{conv,bn}.*     ConvModule, no conv bias
    neck.0.final_layer.{conv,bn}.*               ConvModule, no conv bias
    (neck.1 = GlobalAveragePooling, no parameters)
    head.fc.{weight,bias}                        LinearClsHead

``hrseg_plugin.HRNet`` has mmpretrain HRNet's keys (its fuse is nearest
upsampling: ``upsample_cfg=dict(mode='nearest')``) and
``hrseg_plugin.HRNetClsNeck(global_pool=False)`` has ``HRFuseScales``'
keys, so the state dict is copied unchanged, its ``meta`` kept; the model
is ``configs/cls_hrnet_w18_in1k.py`` (tests/test_classification.py compares
the logits with stock mmpretrain's).

It validates: keys only under ``backbone.`` / ``neck.`` / ``head.``; an
HRNet backbone with exactly the keys its shapes describe; an
``HRFuseScales`` neck (``neck.0.``) with exactly the keys of one for that
backbone; a ``LinearClsHead`` (``head.fc``) on the neck's channels.
Missing / unexpected / shape-mismatched keys are named in the refusal.
"""

from hrseg_plugin.utils.state_dicts import compare_state_dicts
from ._hrnet import (infer_hrnet_arch, is_hrnet, is_multiscale,
                     our_key_shapes, read_cls_neck_widths)
from .checks import (copy_validated, extract_state_dict, raise_on_differences,
                     refuse_foreign_keys)
from .registry import ConversionError, ConversionResult, register_converter

ORIGIN = 'mmpretrain'

#: Top-level components of an mmpretrain ``ImageClassifier``.
CLASSIFIER_PREFIXES = ('backbone.', 'neck.', 'head.')

#: ``HRFuseScales`` inside the classifier's neck list.
NECK = 'neck.0.'


def validate_hrnet_classifier(sd) -> dict:
    """Check the HRNet, ``HRFuseScales`` and ``LinearClsHead`` keys of an
    mmpretrain (= our) classifier state dict, all differences at once.

    Returns:
        dict: What was recognised (for the meta); empty when the backbone
        is not an HRNet (the checkpoint is then only copied).
    """
    if not is_hrnet(sd):
        return {}
    arch = infer_hrnet_arch(sd, 'backbone.')
    multiscale = is_multiscale(sd, arch)
    widths = list(arch['stage4']['num_channels'])
    found = dict(backbone=dict(type='HRNet', widths=widths))
    what = f'an HRNet (widths {widths})'
    if not multiscale and any(k.startswith(NECK) for k in sd):
        raise ConversionError(
            'refusing: the HRNet backbone outputs only its first branch '
            '(single-scale last module, as mmpose builds it), but the '
            'classification neck takes all of them')
    cls_head = None
    if f'{NECK}increase_layers.0.0.conv1.weight' in sd:
        cls_head = read_cls_neck_widths(
            sd, len(arch['out_channels']), f'{NECK}increase_layers.',
            f'{NECK}final_layer.conv.weight')
        found['neck'] = dict(type='HRFuseScales',
                             out_channels=cls_head['out_channels'])
        what += f' + HRFuseScales ({cls_head["out_channels"]} channels)'
        if 'head.fc.weight' in sd:
            cls_head['num_classes'] = int(sd['head.fc.weight'].shape[0])
            found['head'] = dict(type='LinearClsHead',
                                 num_classes=cls_head['num_classes'])
            what += f' + LinearClsHead ({cls_head["num_classes"]} classes)'
    expected = our_key_shapes(arch, multiscale_output=multiscale,
                              cls_head=cls_head)
    checked = {k: v for k, v in sd.items() if k in expected or
               k.startswith('backbone.') or
               (k.startswith(NECK) and 'neck' in found) or
               (k.startswith('head.') and 'head' in found)}
    raise_on_differences(
        *compare_state_dicts(checked, expected),
        f'refusing: the keys do not match {what}')
    return found


@register_converter(
    ORIGIN, 'stock MMPretrain HRNet classifier (HRNet + HRFuseScales + '
    'LinearClsHead keys are already ours): validated copy, meta kept')
def convert_mmpretrain(checkpoint: dict,
                       progress: bool = False) -> ConversionResult:
    """Copy a stock mmpretrain classifier checkpoint's state dict after
    validating it.

    Args:
        checkpoint (dict): Loaded mmpretrain / mmengine checkpoint
            (``{'state_dict': ..., 'meta': ...}``) or a bare state dict.
        progress (bool): Show a tqdm progress bar over the keys.

    Returns:
        ConversionResult: The same keys and tensors; ``meta`` is the input
        meta plus the conversion info and ``reproduce_with``.

    Raises:
        ConversionError: Keys outside ``backbone/neck/head`` (named, with a
            hint for timm / mmseg checkpoints), or HRNet / HRFuseScales /
            LinearClsHead keys missing, unexpected or mis-shaped (named).
    """
    sd, src_meta, container = extract_state_dict(checkpoint)
    refuse_foreign_keys(sd, CLASSIFIER_PREFIXES, 'an mmpretrain classifier',
                        ORIGIN)
    found = validate_hrnet_classifier(sd)

    result = copy_validated(sd, src_meta, container, ORIGIN, found, progress)
    if found:
        result.meta['reproduce_with'] = dict(
            backbone=dict(type='hrseg_plugin.HRNet',
                          upsample_cfg=dict(mode='nearest')),
            neck=[dict(type='hrseg_plugin.HRNetClsNeck', global_pool=False),
                  dict(type='GlobalAveragePooling')])
    return result
