"""The new-branch step between HRNet stages as a list of ops
(``HRTransitionLayer``)."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .hr_fuse_layer import conv_norm, downsample_chain

TRANSITION_MODES = ('last', 'all')


class HRTransitionLayer(nn.ModuleList):
    """Turn the branches of one HRNet stage into the inputs of the next.

    Existing branches keep their feature (``None``) or, where the channel
    count changes, go through a 3x3 conv + norm + ReLU. New, lower-resolution
    branches are made in one of two ways (seed 002 explains the difference):

    - ``mode='last'``: from the last (lowest-resolution) branch only, by a
      chain of stride-2 3x3 conv + norm + ReLU, as the official HRNet code and
      stock mmseg/mmdet do. Parameter names match their checkpoints;
    - ``mode='all'``: from every previous branch, each downsampled by a chain
      of stride-2 convs (ReLU between them, not after the last, as in the
      fuse layer) and summed, then ReLU, as the figure of the HRNet paper
      (Sun et al., TPAMI 2020) draws it.

    Args:
        in_channels (Sequence[int]): Channels of the previous stage's
            branches.
        out_channels (Sequence[int]): Channels of the next stage's branches.
        mode (str): ``'last'`` or ``'all'``.
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict): Norm layer config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: Sequence[int],
                 mode: str = 'last',
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN')):
        if mode not in TRANSITION_MODES:
            raise ValueError(f'HRNet: transition_mode={mode!r} is not '
                             f'supported; use one of {TRANSITION_MODES}')
        num_pre = len(in_channels)
        ops = []
        for i, out_ch in enumerate(out_channels):
            if i < num_pre:
                if in_channels[i] == out_ch:
                    op = None
                else:
                    op = conv_norm(in_channels[i], out_ch, 3, 1, conv_cfg,
                                   norm_cfg)
                    op.append(nn.ReLU(inplace=True))
            elif mode == 'last':
                op = nn.Sequential()
                for k in range(i + 1 - num_pre):
                    last = k == i - num_pre
                    unit = conv_norm(in_channels[-1],
                                     out_ch if last else in_channels[-1], 3,
                                     2, conv_cfg, norm_cfg)
                    unit.append(nn.ReLU(inplace=True))
                    op.append(unit)
            else:
                op = nn.ModuleList([
                    downsample_chain(in_ch, out_ch, i - j, conv_cfg,
                                     norm_cfg)
                    for j, in_ch in enumerate(in_channels)
                ])
            ops.append(op)
        super().__init__(ops)
        self.num_pre = num_pre
        self.mode = mode

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        """Map the previous stage's outputs to the next stage's inputs.

        Args:
            xs (list[Tensor]): The previous stage's branch outputs.

        Returns:
            list[Tensor]: One tensor per branch of the next stage.
        """
        outs = []
        for i, op in enumerate(self):
            if i < self.num_pre:
                outs.append(xs[i] if op is None else op(xs[i]))
            elif self.mode == 'last':
                outs.append(op(xs[-1]))
            else:
                outs.append(F.relu(sum(chain(x) for chain, x in zip(op, xs))))
        return outs
