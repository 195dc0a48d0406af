"""One HRNet module: parallel branches of residual blocks, then a fuse."""
from typing import List, Optional, Sequence, Type

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule, Sequential
from mmseg.models.backbones.resnet import BasicBlock

from .hr_fuse_layer import HRFuseLayer
from .plugin_basic_block import PluginBasicBlock


def make_res_layer(block: Type[nn.Module],
                   in_channels: int,
                   planes: int,
                   num_blocks: int,
                   stride: int = 1,
                   with_cp: bool = False,
                   conv_cfg: Optional[dict] = None,
                   norm_cfg: dict = dict(type='BN'),
                   block_init_cfg: Optional[dict] = None,
                   plugins: Optional[List[dict]] = None) -> Sequential:
    """A stack of ``num_blocks`` residual blocks, the first one projecting
    the shortcut (1x1 conv + norm) when the shape changes.

    Key names are those of stock HRNet checkpoints (``0.downsample.0``).

    Args:
        block (type): ``BasicBlock`` or ``Bottleneck`` (mmseg's).
        in_channels (int): Input channels.
        planes (int): Block width; output channels are
            ``planes * block.expansion``.
        num_blocks (int): Number of blocks.
        stride (int): Stride of the first block.
        with_cp (bool): Gradient checkpointing inside the blocks.
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict): Norm layer config.
        block_init_cfg (dict | None): ``init_cfg`` of every block.
        plugins (list[dict] | None): mmcv plugins of every block,
            ``dict(cfg=..., position=...)``; basic blocks then are
            :class:`PluginBasicBlock` (stock's refuse plugins).

    Returns:
        Sequential: the blocks.
    """
    extra = {}
    if plugins:
        extra['plugins'] = plugins
        if block is BasicBlock:
            block = PluginBasicBlock
    out_channels = planes * block.expansion
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(
            build_conv_layer(
                conv_cfg,
                in_channels,
                out_channels,
                kernel_size=1,
                stride=stride,
                bias=False),
            build_norm_layer(norm_cfg, out_channels)[1])
    layers = []
    for k in range(num_blocks):
        layers.append(
            block(
                in_channels if k == 0 else out_channels,
                planes,
                stride=stride if k == 0 else 1,
                downsample=downsample if k == 0 else None,
                with_cp=with_cp,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                init_cfg=block_init_cfg,
                **extra))
    return Sequential(*layers)


class HRModule(BaseModule):
    """A high-resolution module: each branch runs its blocks at its own
    resolution, then :class:`HRFuseLayer` exchanges information across them.

    Args:
        block (type): Residual block class of the branches.
        num_blocks (Sequence[int]): Blocks per branch.
        in_channels (Sequence[int]): Input channels per branch.
        num_channels (Sequence[int]): Block width per branch.
        multiscale_output (bool): Fuse into every branch (True) or into the
            highest-resolution one only (False).
        with_cp (bool): Gradient checkpointing inside the blocks.
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict): Norm layer config.
        upsample_cfg (dict | None): Interpolation of the fuse layer.
        block_init_cfg (dict | None): ``init_cfg`` of the blocks.
        plugins (list[dict] | None): mmcv plugins of every block, see
            :func:`make_res_layer`.
        init_cfg (dict | list[dict] | None): Initialization config.
    """

    def __init__(self,
                 block: Type[nn.Module],
                 num_blocks: Sequence[int],
                 in_channels: Sequence[int],
                 num_channels: Sequence[int],
                 multiscale_output: bool = True,
                 with_cp: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 upsample_cfg: Optional[dict] = None,
                 block_init_cfg: Optional[dict] = None,
                 plugins: Optional[List[dict]] = None,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.branches = nn.ModuleList([
            make_res_layer(block, in_ch, planes, n, 1, with_cp, conv_cfg,
                           norm_cfg, block_init_cfg, plugins)
            for in_ch, planes, n in zip(in_channels, num_channels, num_blocks)
        ])
        self.out_channels = [c * block.expansion for c in num_channels]
        if len(self.branches) == 1:
            self.fuse_layers = None
        else:
            self.fuse_layers = HRFuseLayer(
                self.out_channels,
                len(self.branches) if multiscale_output else 1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                upsample_cfg=upsample_cfg)

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        """Run the branches, then fuse.

        Args:
            xs (list[Tensor]): One tensor per branch.

        Returns:
            list[Tensor]: The fused branch features.
        """
        ys = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return ys
        return self.fuse_layers(ys)
