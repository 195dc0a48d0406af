"""Mixed pooling module (``MPM``)."""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from hrseg_plugin.registry import MODELS
from ..speedups import enable_speedups


@MODELS.register_module()
class MPM(BaseModule):
    """Mixed pooling module (Hou et al., "Strip Pooling: Rethinking Spatial
    Pooling for Scene Parsing", CVPR 2020, https://arxiv.org/abs/2003.13328;
    ``StripPooling`` of the official SPNet code).

    Two branches on two 1x1 reductions (conv + norm + ReLU) of the input to
    ``in_channels // reduction`` channels each:

    - pyramid pooling (short-range context): a 3x3 conv + norm at full
      resolution, plus, for each of ``pool_sizes``, adaptive average pooling
      to that size, a 3x3 conv + norm and bilinear upsampling back; their
      sum, ReLU, 3x3 conv + norm + ReLU;
    - strip pooling (long-range context): a 1 x W strip (mean over rows),
      1x3 conv + norm, and an H x 1 strip (mean over columns), 3x1 conv +
      norm, both upsampled (expanded) to H x W; their sum, ReLU, 3x3 conv +
      norm + ReLU.

    The two are concatenated, projected back to ``in_channels`` by a 1x1
    conv + norm, added to the input, and ReLU'd. Pooled sizes larger than
    the input work (adaptive pooling repeats pixels), so any input size
    does.

    An mmcv plugin (named ``mpm``) and the building block of
    :class:`StripPoolingHead`.

    Args:
        in_channels (int): Input (and output) channels.
        pool_sizes (Sequence[int]): Output sizes of the pyramid poolings.
            Default: (20, 12), SPNet's for Cityscapes / ADE20K.
        reduction (int): Branch channels are ``in_channels // reduction``.
            Default: 4 (SPNet).
        align_corners (bool): Of the bilinear upsampling. Default: True,
            as SPNet.
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation config.
        init_cfg (dict | list[dict], optional): Initialization config.

    Shapes:
        (N, C, H, W) -> (N, C, H, W), any H, W.
    """

    _abbr_ = 'mpm'

    def __init__(self,
                 in_channels: int,
                 pool_sizes: Sequence[int] = (20, 12),
                 reduction: int = 4,
                 align_corners: bool = True,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg)
        channels = in_channels // reduction
        if channels < 1:
            raise ValueError(f'MPM: in_channels={in_channels} // reduction='
                             f'{reduction} leaves no channels')
        self.pool_sizes = tuple(pool_sizes)
        self.align_corners = align_corners

        def conv(cin, cout, kernel_size, padding, act=None):
            return ConvModule(
                cin,
                cout,
                kernel_size,
                padding=padding,
                norm_cfg=norm_cfg,
                act_cfg=act)

        self.reduce_pool = conv(in_channels, channels, 1, 0, act_cfg)
        self.reduce_strip = conv(in_channels, channels, 1, 0, act_cfg)
        # index 0: full resolution, then one per pooled size
        self.pool_convs = nn.ModuleList(
            [conv(channels, channels, 3, 1) for _ in range(
                len(self.pool_sizes) + 1)])
        self.strip_conv_w = conv(channels, channels, (1, 3), (0, 1))
        self.strip_conv_h = conv(channels, channels, (3, 1), (1, 0))
        self.fuse_pool = conv(channels, channels, 3, 1, act_cfg)
        self.fuse_strip = conv(channels, channels, 3, 1, act_cfg)
        self.project = conv(2 * channels, in_channels, 1, 0)
        enable_speedups(self)

    def _up(self, x: torch.Tensor, size) -> torch.Tensor:
        return F.interpolate(
            x, size, mode='bilinear', align_corners=self.align_corners)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mix pyramid and strip context into the input.

        Args:
            x (Tensor): (N, C, H, W).

        Returns:
            Tensor: (N, C, H, W).
        """
        size = x.shape[2:]
        p = self.reduce_pool(x)
        pooled = self.pool_convs[0](p)
        for conv, s in zip(self.pool_convs[1:], self.pool_sizes):
            pooled = pooled + self._up(conv(F.adaptive_avg_pool2d(p, s)),
                                       size)
        s = self.reduce_strip(x)
        strips = self._up(self.strip_conv_w(s.mean(dim=2, keepdim=True)),
                          size) + self._up(
                              self.strip_conv_h(s.mean(dim=3, keepdim=True)),
                              size)
        out = torch.cat([
            self.fuse_pool(F.relu(pooled)),
            self.fuse_strip(F.relu(strips))
        ], dim=1)
        return F.relu(x + self.project(out))
