"""Pixel-to-object attention and the augmented representation of OCR."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule


def _projection(in_channels: int, channels: int, num_convs: int,
                conv_cfg: Optional[dict], norm_cfg: Optional[dict],
                act_cfg: Optional[dict]) -> nn.Module:
    """``num_convs`` 1x1 ConvModules (a bare one when num_convs == 1, as the
    key layout of stock checkpoints expects)."""
    convs = [
        ConvModule(
            in_channels if k == 0 else channels,
            channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg) for k in range(num_convs)
    ]
    return convs[0] if num_convs == 1 else nn.Sequential(*convs)


class ObjectAttentionBlock(nn.Module):
    """Each pixel attends to the K object representations; the attended
    context is concatenated with the pixel feature and projected back
    (Yuan et al., ECCV 2020, Eqs. (3)-(5)).

    Sub-module names (``query_project``, ``key_project``, ``value_project``,
    ``out_project``, ``bottleneck``) are those of stock mmseg's OCR block so
    its checkpoints load. The attention is computed as
    ``value @ softmax(key^T @ query)``, which yields the context directly in
    (N, C, H*W) layout: no permute + contiguous copies of the pixel tensors.

    Args:
        in_channels (int): Channels of pixel and object features.
        channels (int): Key/query channels.
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict | None): Norm layer config.
        act_cfg (dict | None): Activation config.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU')):
        super().__init__()
        self.channels = channels
        self.query_project = _projection(in_channels, channels, 2, conv_cfg,
                                         norm_cfg, act_cfg)
        self.key_project = _projection(in_channels, channels, 2, conv_cfg,
                                       norm_cfg, act_cfg)
        self.value_project = _projection(in_channels, channels, 1, conv_cfg,
                                         norm_cfg, act_cfg)
        self.out_project = _projection(channels, in_channels, 1, conv_cfg,
                                       norm_cfg, act_cfg)
        self.bottleneck = ConvModule(
            in_channels * 2,
            in_channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def forward(self, feats: torch.Tensor,
                objects: torch.Tensor) -> torch.Tensor:
        """Augment pixel features with their object context.

        Args:
            feats (Tensor): Pixel features, (N, C, H, W).
            objects (Tensor): Object features, (N, C, K, 1).

        Returns:
            Tensor: (N, C, H, W).
        """
        n, _, h, w = feats.shape
        query = self.query_project(feats).flatten(2)  # N, c, HW
        key = self.key_project(objects).flatten(2)  # N, c, K
        value = self.value_project(objects).flatten(2)  # N, c, K
        sim = torch.bmm(key.transpose(1, 2), query) * self.channels**-0.5
        sim = torch.softmax(sim, dim=1)  # over the K objects
        context = torch.bmm(value, sim).view(n, self.channels, h, w)
        context = self.out_project(context)
        return self.bottleneck(torch.cat([context, feats], dim=1))
