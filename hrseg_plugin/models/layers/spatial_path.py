"""Spatial Path of BiSeNet: a few strided conv-BN-ReLU layers to 1/8."""
from collections import OrderedDict
from math import prod
from typing import Optional, Sequence

from mmcv.cnn import ConvModule
from mmengine.model import Sequential


#: Named spatial paths: kernel sizes, strides and default channels per layer.
SPATIAL_PATH_VARIANTS = {
    # the paper (Sec. 3.1): three stride-2 3x3 conv-BN-ReLU; the paper gives
    # no widths, these are those of the common re-implementations
    'paper': dict(kernel_sizes=(3, 3, 3), strides=(2, 2, 2),
                  channels=(64, 128, 256)),
    # CoinCheung/BiSeNet, TorchSeg and stock mmseg BiSeNetV1: a 7x7 stem,
    # two 3x3 and a 1x1 projection
    'coincheung': dict(kernel_sizes=(7, 3, 3, 1), strides=(2, 2, 2, 1),
                       channels=(64, 64, 64, 128)),
}


class SpatialPath(Sequential):
    """The Spatial Path of Yu et al., "BiSeNet: Bilateral Segmentation Network
    for Real-time Semantic Segmentation" (ECCV 2018): wide, shallow
    conv-BN-ReLU layers that keep 1/8 resolution and its spatial detail.

    Layers are named ``layer1``, ``layer2``, ... as in stock mmseg, so its
    checkpoints load as they are. Padding is ``kernel_size // 2``, so the
    output is ``ceil(H / 8) x ceil(W / 8)`` for any input size.

    Args:
        in_channels (int): Input image channels.
        channels (Sequence[int]): Output channels of each layer.
        kernel_sizes (Sequence[int]): Kernel size of each layer.
        strides (Sequence[int]): Stride of each layer; their product must
            be 8.
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict | None): Norm layer config.
        act_cfg (dict | None): Activation config.
    """

    def __init__(self,
                 in_channels: int,
                 channels: Sequence[int],
                 kernel_sizes: Sequence[int],
                 strides: Sequence[int],
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU')):
        if not len(channels) == len(kernel_sizes) == len(strides):
            raise ValueError(
                f'SpatialPath: spatial_channels {tuple(channels)} must have '
                f'one entry per layer ({len(kernel_sizes)} layers)')
        if prod(strides) != 8:
            raise ValueError(f'SpatialPath: strides {tuple(strides)} must '
                             'multiply to 8 (the path outputs 1/8)')
        layers = OrderedDict()
        for i, (c, k, s) in enumerate(zip(channels, kernel_sizes, strides)):
            layers[f'layer{i + 1}'] = ConvModule(
                in_channels, c, k, stride=s, padding=k // 2,
                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
            in_channels = c
        super().__init__(layers)
        self.out_channels = in_channels
