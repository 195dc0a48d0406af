"""Selective Kernel convolution (``SKConv``)."""
from typing import Optional, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from hrseg_plugin.registry import MODELS
from ..speedups import enable_speedups


def _is_3x3(kernel_size: Union[int, tuple]) -> bool:
    return kernel_size in (3, (3, 3), [3, 3])


@MODELS.register_module()
class SKConv(BaseModule):
    """Selective Kernel convolution (Li et al., "Selective Kernel
    Networks", CVPR 2019, https://arxiv.org/abs/1903.06586).

    Split: ``num_branches`` (M) 3x3 group convolutions with dilations
    ``dilation * 1, dilation * 2, ...`` (receptive fields 3x3, 5x5, ...),
    each followed by norm + ReLU. Fuse: their sum ``U``, global average
    pooling, and a 1x1 reduction to ``d = max(out_channels // reduction,
    min_channels)`` with norm + ReLU. Select: one 1x1 projection per branch
    back to ``out_channels``, a softmax across the branches per channel, and
    the attention-weighted sum of the branch outputs.

    One class, three uses:

    - an mmcv plugin: ``plugins=[dict(cfg=dict(type='hrseg_plugin.SKConv'),
      stages=..., position=...)]`` builds ``SKConv(in_channels=C)`` (C -> C,
      stride 1) and names it ``sk_conv`` (+ ``postfix``);
    - the 3x3 conv of stock mmseg/mmdet ``Bottleneck`` blocks, exactly and
      per stage, through the ResNet's ``dcn`` slot, which is built with
      ``build_conv_layer`` like any conv: ``dcn=dict(type=
      'hrseg_plugin.SKConv'), stage_with_dcn=(False, True, True, True)``;
    - a ``conv_cfg=dict(type='hrseg_plugin.SKConv')``, which a backbone
      passes to *every* conv it builds. Only the 3x3 convs that keep the
      width (``in_channels == out_channels``: the residual blocks' 3x3
      convs, but also e.g. a deep stem's middle conv or HRNet's second stem
      conv) become SK convolutions; every other conv (1x1 projections,
      stems and transitions that change the width) is built as the plain
      ``nn.Conv2d`` the backbone asked for, with groups 1 and the stock
      parameter names, so pretrained weights of those convs still load.
      ``SKConv(...)`` then returns that ``nn.Conv2d``.

    Args:
        in_channels (int): Input channels.
        out_channels (int, optional): Output channels; ``in_channels`` when
            None (plugin use).
        kernel_size (int): 3 (other sizes give a plain conv, see above).
        stride (int): Stride of every branch. Default: 1.
        padding (int, optional): Must equal ``dilation`` (the size-keeping
            padding every caller of a 3x3 conv uses) or be None.
        dilation (int): Base dilation; branch ``k`` uses
            ``dilation * (k + 1)``. Default: 1.
        groups (int): Groups of the branch convs (G). Must divide
            ``in_channels`` and ``out_channels``. Default: 32 (paper).
        bias (bool): Bias of the branch convs (they are normalized, so the
            default False loses nothing).
        num_branches (int): Number of branches (M). Default: 2.
        reduction (int): Reduction ratio (r) of the fuse step. Default: 16.
        min_channels (int): Lower bound (L) of the fuse width. Default: 32.
        norm_cfg (dict): Norm of the branches and of the fuse step. The
            fuse step normalizes a (N, d, 1, 1) vector, so with BN training
            needs more than one image per batch (as the paper's network).
        act_cfg (dict): Activation of the branches and of the fuse step.
        init_cfg (dict | list[dict], optional): Initialization config.

    Shapes:
        (N, in_channels, H, W) -> (N, out_channels, H', W') with
        ``H' = (H - 1) // stride + 1`` (as a 3x3 conv with padding
        ``dilation``).
    """

    _abbr_ = 'sk_conv'

    def __new__(cls,
                in_channels: Optional[int] = None,
                out_channels: Optional[int] = None,
                kernel_size: Union[int, tuple] = 3,
                stride: int = 1,
                padding: Optional[int] = None,
                dilation: int = 1,
                groups: int = 32,
                bias: bool = False,
                **kwargs):
        # (copy and pickle call __new__ without arguments)
        if in_channels is None or (_is_3x3(kernel_size) and
                                   out_channels in (None, in_channels)):
            return super().__new__(cls)
        if padding is None:
            padding = 0
        return nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=bias)

    def __init__(self,
                 in_channels: int,
                 out_channels: Optional[int] = None,
                 kernel_size: Union[int, tuple] = 3,
                 stride: int = 1,
                 padding: Optional[int] = None,
                 dilation: int = 1,
                 groups: int = 32,
                 bias: bool = False,
                 num_branches: int = 2,
                 reduction: int = 16,
                 min_channels: int = 32,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg)
        out_channels = in_channels if out_channels is None else out_channels
        if padding is not None and padding != dilation:
            raise ValueError(
                f'SKConv: padding={padding} with dilation={dilation}: an SK '
                'convolution keeps the size of a 3x3 conv padded by its '
                'dilation; give padding=dilation or None')
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f'SKConv: groups={groups} must divide in_channels='
                f'{in_channels} and out_channels={out_channels}')
        if num_branches < 1:
            raise ValueError(
                f'SKConv: num_branches must be >= 1, got {num_branches}')
        self.out_channels = out_channels
        self.num_branches = num_branches
        self.branches = nn.ModuleList([
            ConvModule(
                in_channels,
                out_channels,
                3,
                stride=stride,
                padding=dilation * (k + 1),
                dilation=dilation * (k + 1),
                groups=groups,
                bias=bias,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for k in range(num_branches)
        ])
        fuse_channels = max(out_channels // reduction, min_channels)
        self.fuse = ConvModule(
            out_channels,
            fuse_channels,
            1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.select = nn.Conv2d(
            fuse_channels, out_channels * num_branches, 1, bias=False)
        enable_speedups(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Split, fuse, select.

        Args:
            x (Tensor): (N, C_in, H, W).

        Returns:
            Tensor: (N, C_out, H', W').
        """
        feats = torch.stack([branch(x) for branch in self.branches], dim=1)
        z = self.fuse(feats.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        logits = self.select(z).view(x.size(0), self.num_branches,
                                     self.out_channels, 1, 1)
        return (feats * logits.softmax(dim=1)).sum(dim=1)
