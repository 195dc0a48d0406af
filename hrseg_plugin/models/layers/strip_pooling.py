"""Strip pooling module (``SPM``)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from hrseg_plugin.registry import MODELS
from ..speedups import enable_speedups


@MODELS.register_module()
class SPM(BaseModule):
    """Strip pooling module (Hou et al., "Strip Pooling: Rethinking Spatial
    Pooling for Scene Parsing", CVPR 2020, https://arxiv.org/abs/2003.13328;
    ``SPBlock`` of the official SPNet code).

    Average-pools the input over each row (an H x 1 strip) and each column
    (a 1 x W strip), runs a 3x1 conv + norm along the column of row means
    and a 1x3 conv + norm along the row of column means, expands both back
    to H x W and sums them, then ReLU, a 1x1 conv (with bias) and a sigmoid
    give a gate that multiplies the input::

        y = x * sigmoid(conv1x1(relu(expand(N(conv3x1(pool_hx1(x)))) +
                                     expand(N(conv1x3(pool_1xw(x)))))))

    An mmcv plugin (``SPNet`` places it after the 3x3 conv of the residual
    blocks: ``position='after_conv2'`` of a ``Bottleneck``), named ``spm``.

    Args:
        in_channels (int): Input (and output) channels.
        mid_channels (int, optional): Channels of the strip convs; SPNet
            uses ``in_channels`` (the default).
        norm_cfg (dict): Norm after the strip convs.
        init_cfg (dict | list[dict], optional): Initialization config.

    Shapes:
        (N, C, H, W) -> (N, C, H, W), any H, W.
    """

    _abbr_ = 'spm'

    def __init__(self,
                 in_channels: int,
                 mid_channels: Optional[int] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg=None):
        super().__init__(init_cfg)
        mid_channels = mid_channels or in_channels
        self.conv_h = ConvModule(
            in_channels,
            mid_channels, (3, 1),
            padding=(1, 0),
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.conv_w = ConvModule(
            in_channels,
            mid_channels, (1, 3),
            padding=(0, 1),
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.gate = nn.Conv2d(mid_channels, in_channels, 1, bias=True)
        enable_speedups(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Gate the input with its strip context.

        Args:
            x (Tensor): (N, C, H, W).

        Returns:
            Tensor: (N, C, H, W).
        """
        rows = self.conv_h(x.mean(dim=3, keepdim=True))  # (N, C', H, 1)
        cols = self.conv_w(x.mean(dim=2, keepdim=True))  # (N, C', 1, W)
        # broadcasting the sum is the expand to H x W
        return x * self.gate(F.relu(rows + cols)).sigmoid()
