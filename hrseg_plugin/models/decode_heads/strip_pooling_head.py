"""Strip pooling decode head (SPNet's head)."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from hrseg_plugin.registry import MODELS
from ..channel_check import transformed_inputs
from ..layers.mixed_pooling import MPM
from ..speedups import enable_speedups


@MODELS.register_module()
class StripPoolingHead(BaseDecodeHead):
    """The head of SPNet (Hou et al., "Strip Pooling: Rethinking Spatial
    Pooling for Scene Parsing", CVPR 2020, https://arxiv.org/abs/2003.13328;
    ``SPHead`` of the official code).

    A 1x1 conv + norm + ReLU reduces the input to ``mpm_channels``,
    ``num_mpms`` mixed pooling modules (:class:`MPM`) follow, then a 3x3
    conv + norm + ReLU to ``channels``, dropout and the 1x1 classifier
    (``cls_seg``). SPNet: ``mpm_channels = in_channels // 2``,
    ``channels = mpm_channels // 2``, two MPMs with pool sizes (20, 12),
    dropout 0.1. ``num_mpms=0`` leaves a plain conv head (an ablation
    without the block).

    Args:
        mpm_channels (int, optional): Width of the MPMs; ``in_channels //
            2`` when None.
        num_mpms (int): Number of MPMs. Default: 2.
        pool_sizes (Sequence[int]): Pyramid pool sizes of the MPMs.
        mpm_align_corners (bool): Bilinear upsampling inside the MPMs.
            Default: True (SPNet).
        **kwargs: ``BaseDecodeHead`` arguments (``in_channels``,
            ``channels``, ``num_classes``, ``in_index``, ``input_transform``,
            ``dropout_ratio``, ``norm_cfg``, ``align_corners``,
            ``loss_decode`` ...).
    """

    def __init__(self,
                 mpm_channels: Optional[int] = None,
                 num_mpms: int = 2,
                 pool_sizes: Sequence[int] = (20, 12),
                 mpm_align_corners: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        mpm_channels = mpm_channels or self.in_channels // 2
        self.reduce = ConvModule(
            self.in_channels,
            mpm_channels,
            1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.mpms = nn.Sequential(*[
            MPM(mpm_channels,
                pool_sizes,
                align_corners=mpm_align_corners,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg) for _ in range(num_mpms)
        ])
        self.bottleneck = ConvModule(
            mpm_channels,
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        enable_speedups(self)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """Compute the class scores.

        Args:
            inputs (list[Tensor]): Backbone (or neck) features.

        Returns:
            Tensor: (N, num_classes, H, W) at the selected input's
            resolution.
        """
        x = self.reduce(transformed_inputs(self, inputs))
        return self.cls_seg(self.bottleneck(self.mpms(x)))
