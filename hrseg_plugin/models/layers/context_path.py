"""Context Path of BiSeNet on any registered backbone."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from hrseg_plugin.registry import MODELS
from .attention_refinement import AttentionRefinementModule
from .resize_to import check_upsample_cfg, resize_to


def probe_strides(backbone: nn.Module, in_channels: int,
                  size: int) -> Tuple[List[int], List[int]]:
    """Run ``backbone`` once (eval mode, no grad) on a ``size`` x ``size``
    zero image and measure its outputs.

    Args:
        backbone (nn.Module): Any backbone returning a tensor or a sequence
            of (N, C, H, W) tensors.
        in_channels (int): Input image channels.
        size (int): Probe image side.

    Returns:
        tuple[list[int], list[int]]: Stride and channels of each output.
    """
    was_training = backbone.training
    backbone.eval()
    try:
        with torch.no_grad():
            outs = backbone(torch.zeros(1, in_channels, size, size))
    finally:
        backbone.train(was_training)
    if isinstance(outs, torch.Tensor):
        outs = [outs]
    strides = [round(size / out.shape[-1]) for out in outs]
    return strides, [out.shape[1] for out in outs]


class ContextPath(BaseModule):
    """The Context Path of Yu et al., "BiSeNet" (ECCV 2018, Fig. 2 (a)): a
    fast-downsampling backbone, global average pooling on its 1/32 feature,
    and an Attention Refinement Module on the 1/16 and the 1/32 features,
    merged top-down.

    The merge is that of CoinCheung/BiSeNet and stock mmseg (the paper's
    figure leaves it open): ``arm32(x32) + conv(gap(x32))`` is upsampled to
    1/16 and refined by ``conv_head32``, added to ``arm16(x16)``, upsampled
    to the size the caller asks for (the spatial path's, 1/8) and refined by
    ``conv_head16``. Module names are those of stock mmseg's ``ContextPath``
    (the attention convs aside, see the mmseg converter).

    ``backbone_cfg`` may be any backbone of the registries (mmseg / mmdet
    ``ResNet``, ``ResNetV1c``, ``hrseg_plugin.HRNet``,
    ``hrseg_plugin.Xception39``, ``mmpretrain.*`` when installed). Which of
    its outputs are 1/16 and 1/32, and their channels, is measured once at
    build time by running it on a small zero image, so its config needs no
    extra fields; when it has no 1/16 or no 1/32 output, building fails with
    a ``ValueError``. A ``BaseModule``, so that ``init_weights`` reaches
    the backbone's own ``init_cfg`` (pretrained weights).

    Args:
        backbone_cfg (dict): Config of the context backbone.
        channels (int): Width of the ARMs and of the outputs.
        in_channels (int): Input image channels.
        upsample_cfg (dict | None): ``dict(mode, align_corners)`` of the two
            upsamplings; None: ``mode='nearest'`` as stock mmseg and
            CoinCheung (TorchSeg: bilinear, ``align_corners=True``).
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict | None): Norm layer config.
        act_cfg (dict | None): Activation config.
        probe_size (int): Side of the probe image. Default: 64.
    """

    def __init__(self,
                 backbone_cfg: dict,
                 channels: int = 128,
                 in_channels: int = 3,
                 upsample_cfg: Optional[dict] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 probe_size: int = 64):
        super().__init__()
        if not isinstance(backbone_cfg, dict) or 'type' not in backbone_cfg:
            raise ValueError('BiSeNet: backbone_cfg must be a backbone config '
                             f"dict with a 'type', got {backbone_cfg!r}")
        self.upsample = check_upsample_cfg(
            dict(mode='nearest') if upsample_cfg is None else upsample_cfg,
            'BiSeNet')
        self.backbone = MODELS.build(backbone_cfg)
        strides, widths = probe_strides(self.backbone, in_channels, probe_size)
        self.in_index = self._find_index(strides, 16, backbone_cfg), \
            self._find_index(strides, 32, backbone_cfg)
        c16, c32 = (widths[i] for i in self.in_index)

        def conv(cin, k):
            return ConvModule(cin, channels, k, padding=k // 2,
                              conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                              act_cfg=act_cfg)

        self.arm16 = AttentionRefinementModule(c16, channels, conv_cfg,
                                               norm_cfg, act_cfg)
        self.arm32 = AttentionRefinementModule(c32, channels, conv_cfg,
                                               norm_cfg, act_cfg)
        self.conv_head32 = conv(channels, 3)
        self.conv_head16 = conv(channels, 3)
        self.gap_conv = conv(c32, 1)

    @staticmethod
    def _find_index(strides: Sequence[int], stride: int,
                    backbone_cfg: dict) -> int:
        """Index of the last output with ``stride``; ValueError if none."""
        hits = [i for i, s in enumerate(strides) if s == stride]
        if not hits:
            raise ValueError(
                f'BiSeNet: backbone_cfg ({backbone_cfg["type"]}, out_indices='
                f'{backbone_cfg.get("out_indices", "default")}) gives outputs '
                f'at strides {list(strides)}; the context path needs a 1/16 '
                'and a 1/32 feature: choose out_indices (and strides / '
                'dilations) that include both')
        return hits[-1]

    def forward(self, x: torch.Tensor,
                size: Sequence[int]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Compute the context features.

        Args:
            x (Tensor): Image, (N, C, H, W).
            size (Sequence[int]): (h, w) of the first output, the spatial
                path's output size.

        Returns:
            tuple[Tensor, Tensor]: The 1/16 branch at ``size`` and the 1/32
            branch at the backbone's 1/16 size, both (N, channels, ., .).
        """
        feats = self.backbone(x)
        if isinstance(feats, torch.Tensor):
            feats = [feats]
        x16, x32 = feats[self.in_index[0]], feats[self.in_index[1]]
        x32 = self.arm32(x32) + self.gap_conv(F.adaptive_avg_pool2d(x32, 1))
        x32_up = self.conv_head32(
            resize_to(x32, x16.shape[2:], **self.upsample))
        x16 = self.arm16(x16) + x32_up
        x16_up = self.conv_head16(resize_to(x16, size, **self.upsample))
        return x16_up, x32_up
