"""HRNetV2 representation: every branch upsampled and concatenated."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch.utils.checkpoint import checkpoint

from hrseg_plugin.registry import MODELS
from ..layers.resize_to import check_upsample_cfg, resize_to
from .branch_check import check_branch_inputs
from ..speedups import enable_speedups


def maybe_checkpoint(module: nn.Module, x: torch.Tensor,
                     with_cp: bool) -> torch.Tensor:
    """Run ``module(x)``, under gradient checkpointing when ``with_cp`` and
    ``x`` needs a gradient (a training step); plainly otherwise."""
    if with_cp and x.requires_grad:
        return checkpoint(module, x, use_reentrant=False)
    return module(x)


@MODELS.register_module()
class HRNetV2Neck(BaseModule):
    """The HRNetV2 representation head: upsample every branch to the highest
    resolution and concatenate them (optionally mixed by a 1x1 conv).

    Sun et al., "Deep High-Resolution Representation Learning for Visual
    Recognition" (TPAMI 2020, https://arxiv.org/abs/1908.07919), Fig. 4(b):
    the low-resolution representations are rescaled to the high resolution
    by bilinear upsampling without changing their channels and concatenated
    (15C channels for HRNetV2-WC: C + 2C + 4C + 8C), then mixed by a 1x1
    convolution. Used for segmentation and facial landmarks in the paper;
    :class:`HRFPN` (HRNetV2p) builds its pyramid on it.

    Every branch is resized in one interpolation straight to the size of
    branch 0, so odd input sizes (branch sizes not exact multiples) work.

    Args:
        in_channels (Sequence[int]): Channels of every HRNet branch, highest
            resolution first (the backbone's ``out_channels``).
        out_channels (int, optional): When given, a 1x1 ``ConvModule``
            (``reduction_conv``) mixes the ``sum(in_channels)`` concatenated
            channels into this many; None outputs the concatenation.
        upsample_cfg (dict): ``dict(mode, align_corners)`` of the upsampling
            (see :func:`check_upsample_cfg`). Default: bilinear,
            ``align_corners=False`` (the paper, stock mmdet ``HRFPN``).
        conv_cfg (dict, optional): Conv layer config of the 1x1 conv.
        norm_cfg (dict, optional): Norm layer config of the 1x1 conv.
        act_cfg (dict, optional): Activation of the 1x1 conv.
            Default: ReLU.
        with_cp (bool): Gradient checkpointing of the 1x1 conv (saves the
            memory of its wide input while training, costs a recompute).
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: Optional[int] = None,
                 upsample_cfg: Optional[dict] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 with_cp: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.in_channels = list(in_channels)
        self.num_ins = len(self.in_channels)
        self.concat_channels = sum(self.in_channels)
        self.out_channels = out_channels or self.concat_channels
        self.upsample = check_upsample_cfg(upsample_cfg, type(self).__name__)
        self.with_cp = with_cp
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.reduction_conv = None
        if out_channels is not None:
            self.reduction_conv = ConvModule(
                self.concat_channels,
                out_channels,
                1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg)
        enable_speedups(self)

    def concat(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Upsample every branch to branch 0's size and concatenate.

        Args:
            inputs (Sequence[Tensor]): HRNet branches, highest resolution
                first; branch ``i`` is (N, C_i, H_i, W_i).

        Returns:
            Tensor: (N, sum(C_i), H_0, W_0).
        """
        check_branch_inputs(inputs, self.in_channels, type(self).__name__)
        size = inputs[0].shape[2:]
        return torch.cat(
            [resize_to(x, size, **self.upsample) for x in inputs], dim=1)

    def forward(self, inputs: Sequence[torch.Tensor]
                ) -> Tuple[torch.Tensor]:
        """Compute the HRNetV2 representation.

        Args:
            inputs (Sequence[Tensor]): HRNet branches, highest resolution
                first.

        Returns:
            tuple[Tensor]: One (N, out_channels, H_0, W_0) tensor.
        """
        out = self.concat(inputs)
        if self.reduction_conv is not None:
            out = maybe_checkpoint(self.reduction_conv, out, self.with_cp)
        return (out, )
