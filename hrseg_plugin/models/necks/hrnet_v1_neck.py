"""HRNetV1 representation: the highest-resolution branch alone."""
from typing import Optional, Sequence, Tuple

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from hrseg_plugin.registry import MODELS
from .branch_check import check_branch_inputs
from ..speedups import enable_speedups


@MODELS.register_module()
class HRNetV1Neck(BaseModule):
    """The HRNetV1 representation head: keep only the high-resolution branch.

    Sun et al., "Deep High-Resolution Representation Learning for Visual
    Recognition" (TPAMI 2020, https://arxiv.org/abs/1908.07919), Fig. 4(a):
    HRNetV1 outputs the representation of the high-resolution stream only
    (the lower-resolution streams feed it through the fusions of the
    backbone). Used for pose estimation in the paper; here usable in mmseg
    (``neck=``, head with ``in_index=0``) and mmdet alike.

    Args:
        in_channels (Sequence[int]): Channels of every HRNet branch, highest
            resolution first (the backbone's ``out_channels``); only the
            first is used, the rest check the inputs.
        out_channels (int, optional): When given, a 1x1 ``ConvModule`` maps
            the branch to this many channels; None passes it through.
        conv_cfg (dict, optional): Conv layer config of the 1x1 conv.
        norm_cfg (dict, optional): Norm layer config of the 1x1 conv.
        act_cfg (dict, optional): Activation of the 1x1 conv.
            Default: ReLU.
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: Optional[int] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg)
        self.in_channels = list(in_channels)
        self.out_channels = out_channels or self.in_channels[0]
        self.proj = None
        if out_channels is not None:
            self.proj = ConvModule(
                self.in_channels[0],
                out_channels,
                1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg)
        enable_speedups(self)

    def forward(self, inputs: Sequence[torch.Tensor]
                ) -> Tuple[torch.Tensor]:
        """Select (and project) the highest-resolution branch.

        Args:
            inputs (Sequence[Tensor]): HRNet branches, highest resolution
                first; branch 0 is (N, C_0, H, W).

        Returns:
            tuple[Tensor]: One (N, out_channels, H, W) tensor.
        """
        check_branch_inputs(inputs, self.in_channels, type(self).__name__)
        out = inputs[0]
        if self.proj is not None:
            out = self.proj(out)
        return (out, )
