"""Xception39: the light context backbone of BiSeNet's fastest model."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

from hrseg_plugin.registry import MODELS
from ..speedups import enable_speedups


class XceptionBlock(nn.Module):
    """Residual block of three separable 3x3 convs (depthwise conv without
    norm, then pointwise conv-BN, ReLU but after the last), as TorchSeg's
    ``furnace/base_model/xception.py``. A strided or widening block has a
    separable-conv projection shortcut (``proj``).

    Args:
        in_channels (int): Input channels.
        mid_channels (int): Width of the first two separable convs.
        out_channels (int): Output channels.
        stride (int): Stride of the first conv (and of the projection).
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation config.
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int,
                 stride: int, conv_cfg: Optional[dict], norm_cfg: dict,
                 act_cfg: dict):
        super().__init__()

        def sep(cin, cout, s, act):
            return DepthwiseSeparableConvModule(
                cin, cout, 3, stride=s, padding=1, bias=False,
                conv_cfg=conv_cfg, norm_cfg=norm_cfg, dw_norm_cfg=None,
                dw_act_cfg=None, pw_act_cfg=act_cfg if act else None)

        self.proj = None
        if stride != 1 or in_channels != out_channels:
            self.proj = sep(in_channels, out_channels, stride, act=False)
        self.residual_branch = nn.Sequential(
            sep(in_channels, mid_channels, stride, act=True),
            sep(mid_channels, mid_channels, 1, act=True),
            sep(mid_channels, out_channels, 1, act=False))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.relu(shortcut + self.residual_branch(x))


@MODELS.register_module()
class Xception39(BaseModule):
    """Xception39 (Yu et al., "BiSeNet", ECCV 2018, Sec. 4.1): the small
    Xception the paper uses as context path of its fastest model.

    The layout is TorchSeg's ``xception39`` (ycszen/TorchSeg, the BiSeNet
    authors' code): a stride-2 3x3 conv of 8 channels and a max pool (1/4),
    then three stages of 4, 8 and 4 :class:`XceptionBlock` (widths 64, 128,
    256, each stage halving the resolution).

    Args:
        in_channels (int): Input image channels. Default: 3.
        stem_channels (int): Stem width. Default: 8.
        num_blocks (Sequence[int]): Blocks per stage. Default: (4, 8, 4).
        mid_channels (Sequence[int]): Block inner width per stage; a stage
            outputs 4x that. Default: (16, 32, 64).
        out_indices (Sequence[int]): Stages to output (0: 1/8, 1: 1/16,
            2: 1/32). Default: (0, 1, 2).
        conv_cfg (dict, optional): Conv layer config.
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation config.
        norm_eval (bool): Keep norm layers in eval mode while training.
        init_cfg (dict | list[dict], optional): Initialization config;
            default Kaiming convs and unit norms.

    Returns (of ``forward``):
        tuple[Tensor]: The selected stage outputs; stage ``i`` is
        (N, 4 * mid_channels[i], H / 2**(i+3), W / 2**(i+3)) (rounded up).
    """

    expansion = 4

    def __init__(self,
                 in_channels: int = 3,
                 stem_channels: int = 8,
                 num_blocks: Sequence[int] = (4, 8, 4),
                 mid_channels: Sequence[int] = (16, 32, 64),
                 out_indices: Sequence[int] = (0, 1, 2),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU'),
                 norm_eval: bool = False,
                 init_cfg=None):
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d'),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(init_cfg)
        if len(num_blocks) != len(mid_channels):
            raise ValueError(
                f'Xception39: num_blocks {tuple(num_blocks)} and mid_channels '
                f'{tuple(mid_channels)} must have one entry per stage')
        if not out_indices or any(i not in range(len(num_blocks))
                                  for i in out_indices):
            raise ValueError(f'Xception39: out_indices {tuple(out_indices)} '
                             f'must be in 0..{len(num_blocks) - 1}')
        self.out_indices = tuple(out_indices)
        self.norm_eval = norm_eval
        self.conv1 = ConvModule(
            in_channels, stem_channels, 3, stride=2, padding=1,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer_names = []
        cin = stem_channels
        for i, (n, mid) in enumerate(zip(num_blocks, mid_channels)):
            cout = mid * self.expansion
            blocks = [
                XceptionBlock(cin if k == 0 else cout, mid, cout,
                              2 if k == 0 else 1, conv_cfg, norm_cfg, act_cfg)
                for k in range(n)
            ]
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            self.layer_names.append(f'layer{i + 1}')
            cin = cout
        enable_speedups(self)

    def forward(self, x: torch.Tensor) -> tuple:
        """Run the stem and the stages.

        Args:
            x (Tensor): Image, (N, C, H, W).

        Returns:
            tuple[Tensor]: Outputs of the stages in ``out_indices``.
        """
        x = self.maxpool(self.conv1(x))
        outs = []
        for i, name in enumerate(self.layer_names):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True):
        """Set train mode; norm layers stay in eval mode with
        ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
