"""``--from mmpose``: stock MMPose top-down checkpoints -> hrseg_plugin.

Source model: open-mmlab/mmpose 1.3.2 (the pinned release),
``mmpose/models/backbones/hrnet.py`` (``HRNet``) inside a
``TopdownPoseEstimator`` (``backbone.*``, optional ``neck.*``, ``head.*``,
e.g. ``HeatmapHead``'s ``head.final_layer.*``).

Our ``hrseg_plugin.HRNet`` has exactly the state-dict keys and shapes of
stock mmpose's ``HRNet``, including its single-scale last module (stock
mmpose builds stage 4's last module with ``multiscale_output=False``: only
``fuse_layers.0``), and the head is stock mmpose's, so a model-zoo
checkpoint such as
``td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth`` is copied
unchanged (no prefix stripped, no key renamed), its ``meta``
(``dataset_meta``...) kept.

It still validates:

* the input holds a state dict of tensors whose keys all belong to a pose
  estimator (``backbone.``, ``neck.``, ``head.``);
* when the backbone is an HRNet (``backbone.stage2.0.fuse_layers.*``), the
  ``backbone.*`` keys must be exactly those of the HRNet their shapes
  describe, single- or multi-scale output;
* a heatmap head's ``head.final_layer`` (without deconvolutions) must take
  the channels of the HRNet's highest-resolution branch.

The same heatmaps need the model built as stock mmpose builds it: our HRNet
with ``upsample_cfg=dict(mode='nearest')`` (stock mmpose's fuse) and
``multiscale_output=False``; the meta's ``reproduce_with`` says so and
``configs/pose_hrnet_w32_coco_256x192.py`` / ``..._w48_...`` do it
(tests/test_pose.py compares the heatmaps with stock mmpose's).
"""

from hrseg_plugin.utils.state_dicts import compare_state_dicts, format_keys
from ._hrnet import infer_hrnet_arch, is_hrnet, is_multiscale, our_key_shapes
from .checks import (copy_validated, extract_state_dict, raise_on_differences,
                     refuse_foreign_keys)
from .registry import ConversionError, ConversionResult, register_converter

ORIGIN = 'mmpose'

#: Top-level components of an mmpose pose estimator's state dict.
POSE_PREFIXES = ('backbone.', 'neck.', 'head.')


def _validate_backbone(sd) -> dict:
    """Check an HRNet backbone's keys; return what was recognised."""
    if not is_hrnet(sd):
        return {}
    arch = infer_hrnet_arch(sd, 'backbone.')
    multiscale = is_multiscale(sd, arch)
    widths = list(arch['stage4']['num_channels'])
    checked = {k: v for k, v in sd.items() if k.startswith('backbone.')}
    raise_on_differences(
        *compare_state_dicts(
            checked, our_key_shapes(arch, multiscale_output=multiscale)),
        'refusing: the backbone keys do not match the HRNet they describe '
        f'(widths {widths}, '
        f'{"multi" if multiscale else "single"}-scale output)')
    return dict(type='HRNet', widths=widths, multiscale_output=multiscale,
                out_channels=arch['out_channels'])


def _validate_heatmap_head(sd, backbone: dict) -> dict:
    """A plain heatmap head on the HRNet's first branch must take its
    channels."""
    key = 'head.final_layer.weight'
    if key not in sd:
        return {}
    found = dict(type='HeatmapHead', out_channels=int(sd[key].shape[0]))
    has_deconv = any(k.startswith(('head.deconv_layers.', 'head.conv_layers.'))
                     for k in sd)
    if backbone and not has_deconv and not any(
            k.startswith('neck.') for k in sd):
        expected = backbone['out_channels'][0]
        got = int(sd[key].shape[1])
        if got != expected:
            raise ConversionError(
                f'refusing: {key} takes {got} channels, but the HRNet '
                f'backbone\'s first branch gives {expected}:\n'
                f'{format_keys([f"{key}: got {tuple(sd[key].shape)}"])}')
    return found


@register_converter(
    ORIGIN, 'stock MMPose checkpoint (top-down HRNet keys are already '
    'ours): validated copy, meta kept')
def convert_mmpose(checkpoint: dict,
                   progress: bool = False) -> ConversionResult:
    """Copy a stock mmpose pose-estimator checkpoint's state dict after
    validating it.

    Args:
        checkpoint (dict): Loaded mmpose / mmengine checkpoint
            (``{'state_dict': ..., 'meta': ...}``) or a bare state dict.
        progress (bool): Show a tqdm progress bar over the keys.

    Returns:
        ConversionResult: The same keys and tensors; ``meta`` is the input
        meta plus the conversion info and, for an HRNet backbone,
        ``reproduce_with`` (the backbone options stock's heatmaps need).

    Raises:
        ConversionError: Not a pose-estimator state dict (keys outside
            ``backbone/neck/head`` are named), an HRNet backbone whose keys
            are missing / unexpected / mis-shaped (named), or a heatmap head
            that does not fit the backbone.
    """
    sd, src_meta, container = extract_state_dict(checkpoint)
    refuse_foreign_keys(sd, POSE_PREFIXES, 'an mmpose pose-estimator', ORIGIN)
    found = {}
    backbone = _validate_backbone(sd)
    if backbone:
        found['backbone'] = backbone
    head = _validate_heatmap_head(sd, backbone)
    if head:
        found['head'] = head

    result = copy_validated(sd, src_meta, container, ORIGIN, found, progress)
    if backbone:
        result.meta['reproduce_with'] = dict(
            backbone=dict(
                type='hrseg_plugin.HRNet',
                upsample_cfg=dict(mode='nearest'),
                multiscale_output=backbone['multiscale_output']))
    return result
