"""Attention Refinement Module (ARM) of BiSeNet."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from .channel_attention import ChannelAttention


class AttentionRefinementModule(nn.Module):
    """Refine a context-path feature with its own global context (Yu et al.,
    "BiSeNet", ECCV 2018, Fig. 2 (b)).

    A 3x3 conv-BN-ReLU (as CoinCheung/BiSeNet, TorchSeg and stock mmseg
    add, to set the width), then
    ``feat * sigmoid(BN(conv1x1(pool(feat))))``.
    ``conv_layer`` is named as in stock mmseg.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict | None): Norm layer config.
        act_cfg (dict | None): Activation of the 3x3 conv.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU')):
        super().__init__()
        self.conv_layer = ConvModule(
            in_channels, out_channels, 3, padding=1, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.attention = ChannelAttention(
            out_channels, conv_cfg=conv_cfg, norm_cfg=norm_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Refine ``x``.

        Args:
            x (Tensor): (N, in_channels, H, W).

        Returns:
            Tensor: (N, out_channels, H, W).
        """
        feat = self.conv_layer(x)
        return feat * self.attention(feat)
