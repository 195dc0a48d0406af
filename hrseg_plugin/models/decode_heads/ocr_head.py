"""OCR decode head."""
from typing import List

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.cascade_decode_head import \
    BaseCascadeDecodeHead

from hrseg_plugin.registry import MODELS
from ..channel_check import transformed_inputs
from ..layers.object_attention import ObjectAttentionBlock
from ..layers.spatial_gather import SpatialGather
from ..speedups import enable_speedups


@MODELS.register_module()
class OCRHead(BaseCascadeDecodeHead):
    """Object-Contextual Representations head (Yuan et al., "Object-
    Contextual Representations for Semantic Segmentation", ECCV 2020,
    https://arxiv.org/abs/1909.11065).

    The second head of a cascade: it takes the backbone features and the
    coarse class scores of the previous head (an FCN auxiliary head in the
    paper and in stock configs), gathers one representation per class
    weighted by those scores, lets each pixel attend to them, and classifies
    the augmented pixel features. Keys match stock mmseg's ``OCRHead``.

    Args:
        ocr_channels (int): Key/query channels of the object attention.
        scale (float): Temperature of the spatial gather softmax.
            Default: 1.
        **kwargs: ``BaseDecodeHead`` arguments (``in_channels``,
            ``channels``, ``num_classes``, ``in_index``, ``input_transform``,
            ``norm_cfg``, ``align_corners``, ``loss_decode`` ...).
    """

    def __init__(self, ocr_channels: int, scale: float = 1, **kwargs):
        super().__init__(**kwargs)
        self.ocr_channels = ocr_channels
        self.scale = scale
        self.bottleneck = ConvModule(
            self.in_channels,
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.spatial_gather_module = SpatialGather(scale)
        self.object_context_block = ObjectAttentionBlock(
            self.channels,
            ocr_channels,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        enable_speedups(self)

    def forward(self, inputs: List[torch.Tensor],
                prev_output: torch.Tensor) -> torch.Tensor:
        """Compute the class scores.

        Args:
            inputs (list[Tensor]): Backbone (or neck) features.
            prev_output (Tensor): Coarse scores of the previous head,
                (N, num_classes, H, W) at the features' resolution.

        Returns:
            Tensor: Class scores, (N, num_classes, H, W).
        """
        feats = self.bottleneck(transformed_inputs(self, inputs))
        objects = self.spatial_gather_module(feats, prev_output)
        return self.cls_seg(self.object_context_block(feats, objects))
