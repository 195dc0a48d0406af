"""The ImageNet classification neck of HRNet (incre / downsample / final)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.backbones.resnet import Bottleneck

from hrseg_plugin.registry import MODELS
from ..layers.hr_module import make_res_layer
from .branch_check import check_branch_inputs
from ..speedups import enable_speedups


@MODELS.register_module()
class HRNetClsNeck(BaseModule):
    """The classification neck of HRNet: widen every branch, merge them from
    high to low resolution with stride-2 convs, project to 2048 channels.

    Sun et al., "Deep High-Resolution Representation Learning for Visual
    Recognition" (TPAMI 2020, https://arxiv.org/abs/1908.07919), Fig. 12
    (ImageNet pretraining): each branch goes through one bottleneck block
    (the *incre* layers, to ``4 * incre_channels[i]`` channels); the
    highest-resolution result is downsampled by a stride-2 3x3 conv and
    added to the next branch, down to the lowest resolution (the
    *downsample* layers); a 1x1 conv (the *final* layer) maps to 2048
    channels, and global average pooling gives the image vector a linear
    classifier takes. This is how the ImageNet-pretrained HRNets, whose
    weights initialise the segmentation and detection models, are trained.

    An HRNet classifier is ``backbone=dict(type='hrseg_plugin.HRNet', ...)``
    and ``neck=dict(type='hrseg_plugin.HRNetClsNeck', in_channels=...)`` with
    a linear head on ``out_channels`` (mmpretrain's ``ImageClassifier`` and
    ``LinearClsHead``; ``global_pool=False`` leaves the pooling to a
    ``GlobalAveragePooling`` neck instead).

    With ``global_pool=False`` it is mmpretrain 1.2's ``HRFuseScales``: the
    same parameter names (``increase_layers.i.0.*``,
    ``downsample_layers.i.{conv,bn}.*``, ``final_layer.{conv,bn}.*``),
    shapes and outputs, so mmpretrain checkpoints load unchanged
    (``configs/cls_hrnet_w18_in1k.py``, ``tools/convert_weights.py --from
    mmpretrain``). timm's and the official HRNet-Image-Classification
    ``incre_modules`` / ``downsamp_modules`` / ``final_layer`` (convs with a
    bias) map onto it with ``--from timm``.

    Args:
        in_channels (Sequence[int]): Channels of every HRNet branch, highest
            resolution first.
        incre_channels (Sequence[int]): Bottleneck width per branch; the
            branch is widened to 4 times this (the *increase* layers).
            Default: (32, 64, 128, 256), the official setting for every
            HRNet width (``HRFuseScales``' fixed 128, 256, 512, 1024).
        out_channels (int): Channels of the final layer. Default: 2048.
        conv_cfg (dict, optional): Conv layer config.
        norm_cfg (dict): Norm layer config. Default: BN.
        act_cfg (dict): Activation after the downsample and final convs.
            Default: ReLU.
        global_pool (bool): Average-pool the final map to a vector.
        init_cfg (dict | list[dict], optional): Initialization config.
            Default: Kaiming on convs, ones on norms.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 incre_channels: Sequence[int] = (32, 64, 128, 256),
                 out_channels: int = 2048,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 global_pool: bool = True,
                 init_cfg=None):
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d'),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(init_cfg)
        if len(incre_channels) != len(in_channels):
            raise ValueError(
                'HRNetClsNeck: one incre_channels entry per branch is '
                f'needed: {len(in_channels)} branches ({list(in_channels)}), '
                f'incre_channels={list(incre_channels)}')
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.global_pool = global_pool
        widened = [c * Bottleneck.expansion for c in incre_channels]
        self.increase_layers = nn.ModuleList(
            make_res_layer(
                Bottleneck,
                in_ch,
                planes,
                1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg)
            for in_ch, planes in zip(self.in_channels, incre_channels))
        self.downsample_layers = nn.ModuleList(
            ConvModule(
                widened[i],
                widened[i + 1],
                3,
                stride=2,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for i in range(len(widened) - 1))
        self.final_layer = ConvModule(
            widened[-1],
            out_channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        enable_speedups(self)

    def forward(self, inputs: Sequence[torch.Tensor]
                ) -> Tuple[torch.Tensor]:
        """Merge the branches into one image representation.

        Args:
            inputs (Sequence[Tensor]): HRNet branches, highest resolution
                first, each one stride-2 step below the previous.

        Returns:
            tuple[Tensor]: One tensor, (N, out_channels) with
            ``global_pool``, else (N, out_channels, H_last, W_last).
        """
        check_branch_inputs(inputs, self.in_channels, type(self).__name__)
        y = self.increase_layers[0](inputs[0])
        for x, incre, down in zip(inputs[1:], self.increase_layers[1:],
                                  self.downsample_layers):
            y = incre(x) + down(y)
        y = self.final_layer(y)
        if self.global_pool:
            y = F.adaptive_avg_pool2d(y, 1).flatten(1)
        return (y, )
