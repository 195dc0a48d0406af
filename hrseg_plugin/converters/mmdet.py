"""``--from mmdet``: stock MMDetection checkpoints -> hrseg_plugin.

Our ``hrseg_plugin.HRNet`` and ``hrseg_plugin.HRFPN`` have exactly the
state-dict keys and shapes of stock mmdet's ``HRNet`` and ``HRFPN``, and the
detector parts (RPN, RoI heads, FCOS head, ...) are stock mmdet modules, so
an HRNetV2p detector checkpoint of the mmdet model zoo is copied unchanged
(no prefix stripped, no key renamed), its ``meta`` (``dataset_meta``...) kept.

It still validates:

* the input holds a state dict of tensors whose keys all belong to a
  detector (:data:`DETECTOR_PREFIXES`);
* when the backbone is an HRNet (``backbone.stage2.0.fuse_layers.*``), the
  ``backbone.*`` keys must be exactly those of the HRNet their shapes
  describe (the check of ``--from mmseg``);
* when the neck is an HRFPN (``neck.reduction_conv.*``), the ``neck.*`` keys
  must be exactly those of the HRFPN for that backbone.

The same outputs need the model built as stock mmdet builds it: our HRNet
with ``upsample_cfg=dict(mode='nearest')`` (stock mmdet's fuse) and
``norm_eval=True``; the meta's ``reproduce_with`` says so and
``configs/*_hrnetv2p_*.py`` do it. The full check against a model is
``--config`` (see :func:`hrseg_plugin.converters.
check_state_dict_against_config`).
"""
import re
from collections import OrderedDict

from hrseg_plugin.utils.state_dicts import compare_state_dicts
from ._hrnet import built_key_shapes, infer_hrnet_arch, validate_hrnet_keys
from .checks import (copy_validated, extract_state_dict, raise_on_differences,
                     refuse_foreign_keys)
from .registry import ConversionError, ConversionResult, register_converter

ORIGIN = 'mmdet'

#: Top-level components of an mmdet (two-stage, single-stage, SOLO, HTC,
#: panoptic) detector's state dict.
DETECTOR_PREFIXES = ('backbone.', 'neck.', 'rpn_head.', 'roi_head.',
                     'bbox_head.', 'mask_head.', 'semantic_head.',
                     'panoptic_head.', 'panoptic_fusion_head.')

_FPN_CONV = re.compile(r'neck\.fpn_convs\.(\d+)\.')


def hrfpn_spec(in_channels: int, out_channels: int,
               num_outs: int) -> 'OrderedDict[str, tuple]':
    """Keys and shapes of a stock mmdet ``HRFPN``: ours with
    ``norm_cfg=None`` (plain convs with bias), built on the meta device.

    Args:
        in_channels (int): Channels of the HRNetV2 concatenation (the sum of
            the backbone's branch channels).
        out_channels (int): Channels of every level.
        num_outs (int): Number of levels.

    Returns:
        OrderedDict[str, tuple]: key -> shape, with the ``neck.`` prefix.
    """
    return built_key_shapes(dict(neck=dict(
        type='hrseg_plugin.HRFPN', in_channels=[in_channels],
        out_channels=out_channels, num_outs=num_outs, norm_cfg=None)))


def _validate_hrfpn(sd, backbone_channels) -> dict:
    """Check the ``neck.*`` keys of an HRFPN; return what was recognised."""
    anchor = 'neck.reduction_conv.conv.weight'
    if anchor not in sd:
        return {}
    out_channels, in_channels = (int(n) for n in sd[anchor].shape[:2])
    if backbone_channels is not None and \
            in_channels != sum(backbone_channels):
        raise ConversionError(
            f'refusing: {anchor} takes {in_channels} channels, but the HRNet '
            f'backbone concatenates {sum(backbone_channels)} '
            f'({" + ".join(map(str, backbone_channels))})')
    levels = [int(m.group(1)) for m in map(_FPN_CONV.match, sd) if m]
    num_outs = max(levels) + 1 if levels else 0
    if num_outs == 0:
        raise ConversionError('refusing: an HRFPN neck without levels: no '
                              'neck.fpn_convs.* keys')
    expected = hrfpn_spec(in_channels, out_channels, num_outs)
    checked = {k: v for k, v in sd.items() if k.startswith('neck.')}
    raise_on_differences(
        *compare_state_dicts(checked, expected),
        f'refusing: the neck keys do not match a stock HRFPN '
        f'({in_channels} -> {out_channels} channels, {num_outs} levels)',
        hint='stock mmdet HRFPN has no norm layers (it ignores norm_cfg)')
    return dict(
        type='HRFPN',
        in_channels=in_channels,
        out_channels=out_channels,
        num_outs=num_outs)


@register_converter(
    ORIGIN, 'stock MMDetection checkpoint (HRNet / HRFPN detector keys are '
    'already ours): validated copy, meta kept')
def convert_mmdet(checkpoint: dict,
                  progress: bool = False) -> ConversionResult:
    """Copy a stock mmdet detector checkpoint's state dict after validating
    it.

    Args:
        checkpoint (dict): Loaded mmdet / mmengine checkpoint
            (``{'state_dict': ..., 'meta': ...}``) or a bare state dict.
        progress (bool): Show a tqdm progress bar over the keys.

    Returns:
        ConversionResult: The same keys and tensors; ``meta`` is the input
        meta plus the conversion info and, for an HRNet backbone,
        ``reproduce_with`` (the model options stock's outputs need).

    Raises:
        ConversionError: Not a detector state dict (keys outside
            :data:`DETECTOR_PREFIXES` are named), or an HRNet backbone /
            HRFPN neck whose keys are missing / unexpected / mis-shaped
            (named).
    """
    sd, src_meta, container = extract_state_dict(checkpoint)
    refuse_foreign_keys(sd, DETECTOR_PREFIXES, 'an mmdet detector', ORIGIN)
    found = validate_hrnet_keys(sd)
    branch_channels = None
    if 'backbone' in found:
        branch_channels = infer_hrnet_arch(sd, 'backbone.')['out_channels']
    neck = _validate_hrfpn(sd, branch_channels)
    if neck:
        found['neck'] = neck

    result = copy_validated(sd, src_meta, container, ORIGIN, found, progress)
    if 'backbone' in found:
        result.meta['reproduce_with'] = dict(
            backbone=dict(
                type='hrseg_plugin.HRNet',
                upsample_cfg=dict(mode='nearest'),
                norm_eval=True),
            neck=dict(type='hrseg_plugin.HRFPN') if neck else None)
    return result
