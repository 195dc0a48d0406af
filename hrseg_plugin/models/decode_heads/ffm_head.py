"""Feature Fusion Module (FFM) of BiSeNet as a decode head."""
from typing import List, Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from hrseg_plugin.registry import MODELS
from ..channel_check import transformed_inputs
from ..layers.channel_attention import ChannelAttention
from ..layers.pixel_shuffle_conv import PixelShuffleConv2d
from ..speedups import enable_speedups


@MODELS.register_module()
class FFMHead(BaseDecodeHead):
    """BiSeNet's Feature Fusion Module and classifier (Yu et al., "BiSeNet",
    ECCV 2018, Fig. 2 (c)).

    Concatenates the spatial and the context feature, fuses them with a 1x1
    conv-BN-ReLU, reweights the channels, ``feat * atten + feat``, then
    ``num_convs`` conv-BN-ReLU and the classifier (``conv_seg``). Losses,
    sampling and ``predict`` are mmseg's ``BaseDecodeHead``'s.

    The attention (``attention_cfg``, arguments of
    :class:`~hrseg_plugin.models.layers.ChannelAttention`) reproduces each
    reference implementation:

    - paper figure, CoinCheung/BiSeNet until July 2021: ``dict(
      reduction=4)`` (default);
    - CoinCheung/BiSeNet since July 2021 (their published weights):
      ``dict(reduction=None, norm_cfg=norm_cfg)``;
    - TorchSeg: ``dict(reduction=1)``;
    - stock mmseg ``BiSeNetV1``: ``dict(reduction=None, norm_cfg=norm_cfg,
      act_before_sigmoid=True)``.

    The FFM + one 3x3 conv + ``conv_seg`` is the stock mmseg model's
    ``ffm`` + ``FCNHead(num_convs=1)`` and CoinCheung's ``ffm`` +
    ``conv_out`` (whose layout of September 2020 to July 2021 upsamples the
    scores by pixel shuffle: ``pixel_shuffle_factor=8``).

    Args:
        attention_cfg (dict, optional): ChannelAttention arguments besides
            the channels (``reduction``, ``norm_cfg``,
            ``act_before_sigmoid``); ``conv_cfg`` and ``act_cfg`` default to
            the head's.
        num_convs (int): Conv-BN-ReLU layers between the fusion and the
            classifier. Default: 1.
        kernel_size (int): Their kernel size. Default: 3.
        pixel_shuffle_factor (int): 1: ``conv_seg`` predicts the scores at
            the features' resolution (1/8); r > 1: it predicts
            ``num_classes * r**2`` channels, pixel-shuffled to r times that
            resolution. Default: 1.
        **kwargs: ``BaseDecodeHead`` arguments; ``in_channels`` gives the
            two inputs' channels, ``[spatial, context]``; ``in_index``
            defaults to ``(0, 1)`` and ``input_transform`` to
            ``'multiple_select'`` (the outputs of ``hrseg_plugin.BiSeNet``).
    """

    def __init__(self,
                 attention_cfg: Optional[dict] = None,
                 num_convs: int = 1,
                 kernel_size: int = 3,
                 pixel_shuffle_factor: int = 1,
                 **kwargs):
        kwargs.setdefault('in_index', (0, 1))
        kwargs.setdefault('input_transform', 'multiple_select')
        if kwargs['input_transform'] != 'multiple_select' or len(
                kwargs['in_index']) != 2:
            raise ValueError(
                "FFMHead: needs input_transform='multiple_select' and two "
                'in_index entries (spatial, context), got '
                f"input_transform={kwargs['input_transform']!r}, "
                f"in_index={kwargs['in_index']!r}")
        super().__init__(**kwargs)
        if num_convs < 0:
            raise ValueError(f'FFMHead: num_convs={num_convs} must be >= 0')
        self.fusion_conv = ConvModule(
            sum(self.in_channels), self.channels, 1, conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        attention_cfg = dict(
            dict(reduction=4, conv_cfg=self.conv_cfg, act_cfg=self.act_cfg),
            **(attention_cfg or {}))
        self.attention = ChannelAttention(self.channels, **attention_cfg)
        self.convs = nn.Sequential(*[
            ConvModule(
                self.channels, self.channels, kernel_size,
                padding=kernel_size // 2, conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for _ in range(num_convs)
        ])
        if pixel_shuffle_factor != 1:
            self.conv_seg = PixelShuffleConv2d(
                self.channels, self.out_channels, pixel_shuffle_factor)
        enable_speedups(self)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """Fuse the two paths and classify.

        Args:
            inputs (list[Tensor]): Backbone outputs; ``in_index`` picks the
                spatial and the context feature, both (N, C_i, h, w).

        Returns:
            Tensor: Class scores, (N, num_classes, r * h, r * w) with r the
            ``pixel_shuffle_factor``.
        """
        spatial, context = transformed_inputs(self, inputs)
        feat = self.fusion_conv(torch.cat([spatial, context], dim=1))
        feat = feat * self.attention(feat) + feat
        return self.cls_seg(self.convs(feat))
