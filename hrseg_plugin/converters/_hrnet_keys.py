"""Expected keys and shapes of the HRNet parts the pose and classification
converters (``--from mmpose``, ``--from mmpretrain``, ``--from timm``)
check: the backbone (multi- or single-scale output) and the ImageNet
classification neck in our / mmpretrain ``HRFuseScales`` layout and in
timm's / the official HRNet-Image-Classification layout."""
import re
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple

import torch

from . import ConversionError
from .hrnet_official import hrnet_backbone_spec, infer_hrnet_arch

_BN_PARAMS = ('weight', 'bias', 'running_mean', 'running_var',
              'num_batches_tracked')
#: Bottleneck expansion of the classification neck's increase layers.
EXPANSION = 4


def bn_spec(spec: dict, name: str, channels: int) -> None:
    """Add the keys of a BatchNorm called ``name``."""
    for p in _BN_PARAMS:
        spec[f'{name}.{p}'] = () if p == 'num_batches_tracked' else (
            channels, )


def conv_spec(spec: dict, name: str, cout: int, cin: int, k: int,
              bias: bool = False) -> None:
    """Add the keys of a Conv2d called ``name``."""
    spec[f'{name}.weight'] = (cout, cin, k, k)
    if bias:
        spec[f'{name}.bias'] = (cout, )


def bottleneck_spec(spec: dict, name: str, inplanes: int,
                    planes: int) -> None:
    """Add the keys of a stride-1 ResNet Bottleneck (``conv1..3``,
    ``bn1..3`` and, when the width changes, ``downsample.{0,1}``): the same
    names in mmseg, mmpretrain, timm and the official code."""
    conv_spec(spec, f'{name}.conv1', planes, inplanes, 1)
    bn_spec(spec, f'{name}.bn1', planes)
    conv_spec(spec, f'{name}.conv2', planes, planes, 3)
    bn_spec(spec, f'{name}.bn2', planes)
    conv_spec(spec, f'{name}.conv3', planes * EXPANSION, planes, 1)
    bn_spec(spec, f'{name}.bn3', planes * EXPANSION)
    if inplanes != planes * EXPANSION:
        conv_spec(spec, f'{name}.downsample.0', planes * EXPANSION,
                  inplanes, 1)
        bn_spec(spec, f'{name}.downsample.1', planes * EXPANSION)


def is_hrnet(sd: Dict[str, torch.Tensor], prefix: str) -> bool:
    """Whether the ``prefix`` keys are an HRNet's (its fuse layers)."""
    return any(k.startswith(f'{prefix}stage2.0.fuse_layers.') for k in sd)


def hrnet_spec(sd: Dict[str, torch.Tensor], prefix: str
               ) -> Tuple[dict, 'OrderedDict[str, tuple]', bool]:
    """The HRNet the ``prefix`` keys describe and its exact keys.

    Stock mmpose builds the last module of stage 4 with one output
    (``multiscale_output=False``: only ``fuse_layers.0``); mmseg, mmdet,
    mmpretrain, timm and the official code with all of them. Which one it
    is is read from the keys.

    Args:
        sd (dict[str, Tensor]): State dict.
        prefix (str): Prefix of the backbone keys (``'backbone.'`` or
            ``''``).

    Returns:
        tuple: ``(arch, spec, multiscale)``: the architecture (see
        :func:`hrseg_plugin.converters.hrnet_official.infer_hrnet_arch`),
        key -> shape with ``prefix``, and whether every branch is output.

    Raises:
        ConversionError: The anchors of an HRNet are missing (named).
    """
    arch = infer_hrnet_arch(sd, prefix)
    last = arch['stage4']['num_modules'] - 1
    head = f'stage4.{last}.fuse_layers.'
    multiscale = any(
        k.startswith(f'{prefix}{head}{i}.')
        for k in sd for i in range(1, arch['stage4']['num_branches']))
    spec = OrderedDict()
    for key, shape in hrnet_backbone_spec(arch).items():
        if not multiscale and key.startswith(head) and \
                not key.startswith(f'{head}0.'):
            continue
        spec[prefix + key] = shape
    return arch, spec, multiscale


def incre_planes(sd: Dict[str, torch.Tensor], incre: str,
                 num_branches: int) -> List[int]:
    """The bottleneck width of every increase layer (``{incre}{i}.0.conv1``
    output channels).

    Raises:
        ConversionError: An increase layer is missing.
    """
    keys = [f'{incre}{i}.0.conv1.weight' for i in range(num_branches)]
    missing = [k for k in keys if k not in sd]
    if missing:
        raise ConversionError(
            'refusing: the classification neck has no increase layer for '
            f'every HRNet branch ({num_branches}); missing keys:\n    ' +
            '\n    '.join(missing))
    return [int(sd[k].shape[0]) for k in keys]


def cls_neck_spec(branch_channels: Sequence[int], planes: Sequence[int],
                  out_channels: int, layout: str, prefix: str = '',
                  conv_bias: bool = True) -> 'OrderedDict[str, tuple]':
    """Keys of the HRNet classification neck (increase, downsample and
    final layers).

    Args:
        branch_channels (Sequence[int]): HRNet output channels per branch.
        planes (Sequence[int]): Bottleneck width of each increase layer
            (32, 64, 128, 256 in every published model).
        out_channels (int): Channels of the final layer (2048).
        layout (str): ``'ours'`` (= mmpretrain ``HRFuseScales``:
            ``increase_layers``, ``downsample_layers.i.{conv,bn}``,
            ``final_layer.{conv,bn}``, convs without bias) or ``'timm'``
            (= official: ``incre_modules``, ``downsamp_modules.i.{0,1}``,
            ``final_layer.{0,1}``).
        prefix (str): Prefix of every key (``'neck.0.'`` for ours).
        conv_bias (bool): ``'timm'`` only: the downsample and final convs
            have a bias (timm's ``head_conv_bias``, the official code).

    Returns:
        OrderedDict[str, tuple]: key -> shape.
    """
    if layout not in ('ours', 'timm'):
        raise ValueError(f'unknown layout {layout!r}')
    names = dict(
        ours=('increase_layers', 'downsample_layers', 'conv', 'bn'),
        timm=('incre_modules', 'downsamp_modules', '0', '1'))[layout]
    incre, down, conv, norm = names
    bias = conv_bias and layout == 'timm'
    spec = OrderedDict()
    widened = [p * EXPANSION for p in planes]
    for i, (cin, p) in enumerate(zip(branch_channels, planes)):
        bottleneck_spec(spec, f'{prefix}{incre}.{i}.0', cin, p)
    for i in range(len(widened) - 1):
        conv_spec(spec, f'{prefix}{down}.{i}.{conv}', widened[i + 1],
                  widened[i], 3, bias)
        bn_spec(spec, f'{prefix}{down}.{i}.{norm}', widened[i + 1])
    conv_spec(spec, f'{prefix}final_layer.{conv}', out_channels, widened[-1],
              1, bias)
    bn_spec(spec, f'{prefix}final_layer.{norm}', out_channels)
    return spec


_TIMM_TO_OURS = (
    (r'^incre_modules\.(\d+)\.', r'neck.0.increase_layers.\1.'),
    (r'^downsamp_modules\.(\d+)\.0\.weight$',
     r'neck.0.downsample_layers.\1.conv.weight'),
    (r'^downsamp_modules\.(\d+)\.1\.', r'neck.0.downsample_layers.\1.bn.'),
    (r'^final_layer\.0\.weight$', 'neck.0.final_layer.conv.weight'),
    (r'^final_layer\.1\.', 'neck.0.final_layer.bn.'),
    (r'^classifier\.(weight|bias)$', r'head.fc.\1'),
)
_TIMM_TO_OURS_RE = tuple((re.compile(p), r) for p, r in _TIMM_TO_OURS)

#: timm / official head conv biases -> the BatchNorm they fold into
#: (patterns over the timm key).
FOLDED_BIAS_RE = re.compile(
    r'^(downsamp_modules\.\d+|final_layer)\.0\.bias$')


def map_timm_key(key: str, backbone_prefix: str = 'backbone.') -> str:
    """One timm / official classification key in our layout (backbone keys
    get ``backbone_prefix``; folded conv biases are not mapped here)."""
    for pat, repl in _TIMM_TO_OURS_RE:
        if pat.match(key):
            return pat.sub(repl, key)
    return backbone_prefix + key


def folded_bias_target(key: str) -> str:
    """The running-mean key of our layout that the timm conv bias ``key``
    (``downsamp_modules.i.0.bias`` / ``final_layer.0.bias``) folds into."""
    return map_timm_key(key[:-len('0.bias')] + '1.running_mean')
