"""HRNetV2p representation: HRFPN, a pyramid pooled from HRNetV2."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from hrseg_plugin.registry import MODELS
from .hrnet_v2_neck import HRNetV2Neck, maybe_checkpoint
from ..speedups import enable_speedups

POOLINGS = {'AVG': F.avg_pool2d, 'MAX': F.max_pool2d}


@MODELS.register_module()
class HRFPN(HRNetV2Neck):
    """HRFPN, the HRNetV2p representation head: HRNetV2, a 1x1 conv, then a
    feature pyramid pooled from it, each level refined by a 3x3 conv.

    Sun et al., "Deep High-Resolution Representation Learning for Visual
    Recognition" (TPAMI 2020, https://arxiv.org/abs/1908.07919), Fig. 4(c):
    the multi-level representations are built by downsampling the
    high-resolution HRNetV2 output with average pooling; this is what makes
    HRNet an object detection backbone (Faster / Mask / Cascade R-CNN,
    FCOS).

    A drop-in replacement for stock mmdet's ``HRFPN``: same arguments, same
    state-dict keys (``reduction_conv.conv.*``, ``fpn_convs.i.conv.*``) and
    the same outputs for its default options, so mmdet HRNetV2p checkpoints
    load unchanged. It differs where stock's behaviour is a bug or a limit:

    - branches are upsampled in one interpolation to branch 0's exact size
      (stock scales by ``2**i``, which breaks ``torch.cat`` when the image
      is not padded to a multiple of 32, e.g. in mmseg or for odd sizes);
    - ``norm_cfg`` is applied to the 1x1 and 3x3 convs (stock accepts and
      documents it but builds the convs without it);
    - an unknown ``pooling_type`` is an error (stock silently averages);
    - ``with_cp`` checkpoints with ``use_reentrant=False``, as torch asks;
    - it computes in ``channels_last`` (its weights stored so, its inputs
      converted at entry: oneDNN's NHWC convs run its 1x1 and 3x3 convs at
      up to 1.7x the NCHW rate here) and returns the levels in the default
      contiguous (NCHW) layout (``contiguous_outputs`` of the speed-ups'
      layout rule): mmcv's CPU ``RoIAlign`` reads NCHW memory and gives
      wrong values on channels_last input;
    - it also registers for mmseg (``type='hrseg_plugin.HRFPN'``), which
      has no HRFPN of its own.

    Args:
        in_channels (Sequence[int]): Channels of every HRNet branch, highest
            resolution first.
        out_channels (int): Channels of every pyramid level.
        num_outs (int): Number of pyramid levels; level ``i`` pools the 1x1
            conv output by ``2**i`` (floor, as stock). Default: 5.
        pooling_type (str): ``'AVG'`` (the paper) or ``'MAX'``.
        conv_cfg (dict, optional): Conv layer config.
        norm_cfg (dict, optional): Norm layer config of the 1x1 and the 3x3
            convs (None: plain convs with bias, as stock).
        with_cp (bool): Gradient checkpointing of the 1x1 and 3x3 convs.
        stride (int): Stride of the 3x3 convs (FCOS configs use 2).
        upsample_cfg (dict, optional): Upsampling of the branches, see
            :class:`HRNetV2Neck`. Default: bilinear, ``align_corners=False``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Default: Caffe2Xavier on the convs, as stock.

    Returns (of ``forward``):
        tuple[Tensor]: ``num_outs`` tensors; for branch 0 of size (H, W),
        level ``i`` is (N, out_channels, ceil(floor(H / 2**i) / stride),
        ceil(floor(W / 2**i) / stride)).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 num_outs: int = 5,
                 pooling_type: str = 'AVG',
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 with_cp: bool = False,
                 stride: int = 1,
                 upsample_cfg: Optional[dict] = None,
                 init_cfg=dict(type='Caffe2Xavier', layer='Conv2d')):
        if pooling_type not in POOLINGS:
            raise ValueError(f'HRFPN: pooling_type={pooling_type!r} is not '
                             f'one of {sorted(POOLINGS)}')
        if not (isinstance(num_outs, int) and num_outs >= 1):
            raise ValueError(f'HRFPN: num_outs must be an int >= 1, got '
                             f'{num_outs!r}')
        super().__init__(
            in_channels,
            out_channels,
            upsample_cfg=upsample_cfg,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None,
            with_cp=with_cp,
            init_cfg=init_cfg)
        self.num_outs = num_outs
        self.pooling_type = pooling_type
        self.pooling = POOLINGS[pooling_type]
        self.fpn_convs = nn.ModuleList(
            ConvModule(
                out_channels,
                out_channels,
                3,
                stride=stride,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=None) for _ in range(num_outs))
        enable_speedups(self, channels_last=True, contiguous_outputs=True)

    def forward(self, inputs: Sequence[torch.Tensor]
                ) -> Tuple[torch.Tensor, ...]:
        """Compute the HRNetV2p pyramid.

        Args:
            inputs (Sequence[Tensor]): HRNet branches, highest resolution
                first.

        Returns:
            tuple[Tensor]: ``num_outs`` levels, finest first.
        """
        (out, ) = super().forward(inputs)
        levels = [out] + [
            self.pooling(out, kernel_size=2**i, stride=2**i)
            for i in range(1, self.num_outs)
        ]
        return tuple(
            maybe_checkpoint(conv, level, self.with_cp)
            for conv, level in zip(self.fpn_convs, levels))
