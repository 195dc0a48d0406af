"""The exchange unit of HRNet as a matrix of ops (``HRFuseLayer``)."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer

from .resize_to import check_upsample_cfg, resize_to


def conv_norm(in_ch: int, out_ch: int, kernel_size: int, stride: int,
              conv_cfg: Optional[dict], norm_cfg: dict) -> nn.Sequential:
    """A bias-free conv and its norm as ``nn.Sequential(conv, norm)``: the
    ``.0`` / ``.1`` key layout of HRNet checkpoints (a ``ConvModule`` would
    name them ``.conv`` / ``.bn``)."""
    return nn.Sequential(
        build_conv_layer(
            conv_cfg,
            in_ch,
            out_ch,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            bias=False),
        build_norm_layer(norm_cfg, out_ch)[1])


def downsample_chain(in_ch: int, out_ch: int, steps: int,
                      conv_cfg: Optional[dict],
                      norm_cfg: dict) -> nn.Sequential:
    """``steps`` stride-2 3x3 conv + norm (+ ReLU except the last)."""
    layers = []
    for k in range(steps):
        last = k == steps - 1
        unit = conv_norm(in_ch, out_ch if last else in_ch, 3, 2,
                         conv_cfg, norm_cfg)
        if not last:
            unit.append(nn.ReLU(inplace=False))
        layers.append(unit)
    return nn.Sequential(*layers)


class HRFuseLayer(nn.ModuleList):
    """Fuse the branches of an HRNet module: output ``i`` is the ReLU of the
    sum over input branches ``j`` of ``op[i][j](x[j])``.

    The ops follow Sun et al., "Deep High-Resolution Representation Learning
    for Visual Recognition" (TPAMI 2020) and the official HRNet code:

    - ``j > i`` (lower resolution): 1x1 conv + norm, then ONE interpolation
      straight to branch ``i``'s size (stock mmseg upsamples by a scale
      factor and then resizes again to the same size: same result on even
      sizes, one pass less here, and exact for odd sizes);
    - ``j == i``: identity (``None`` in the matrix);
    - ``j < i`` (higher resolution): ``i - j`` stride-2 3x3 conv + norm, with
      a (not in-place) ReLU between them but not after the last.

    The class is a ``ModuleList`` of ``ModuleList`` rows so that parameter
    names (``fuse_layers.i.j.0.weight``) are those of stock mmseg/mmdet HRNet
    and of the official code: their checkpoints load unchanged.

    Args:
        in_channels (Sequence[int]): Channels of each input branch.
        num_outputs (int): Number of fused outputs (all branches, or 1 for
            the last module of a single-scale HRNet).
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict): Norm layer config.
        upsample_cfg (dict | None): ``dict(mode, align_corners)`` of the
            upsampling interpolation, see :func:`check_upsample_cfg`.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_outputs: int,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 upsample_cfg: Optional[dict] = None):
        rows = []
        for i in range(num_outputs):
            row = []
            for j, in_ch in enumerate(in_channels):
                if j > i:
                    op = conv_norm(in_ch, in_channels[i], 1, 1, conv_cfg,
                                   norm_cfg)
                elif j == i:
                    op = None
                else:
                    op = downsample_chain(in_ch, in_channels[i], i - j,
                                                conv_cfg, norm_cfg)
                row.append(op)
            rows.append(nn.ModuleList(row))
        super().__init__(rows)
        self.upsample = check_upsample_cfg(upsample_cfg, 'HRFuseLayer')

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        """Fuse the branch features.

        Args:
            xs (list[Tensor]): One (N, C_j, H_j, W_j) tensor per branch.

        Returns:
            list[Tensor]: ``num_outputs`` tensors, output ``i`` of branch
            ``i``'s shape.
        """
        outs = []
        for i, row in enumerate(self):
            size = xs[i].shape[2:]
            terms = []
            for j, op in enumerate(row):
                if op is None:
                    terms.append(xs[j])
                elif j > i:
                    terms.append(resize_to(op(xs[j]), size, **self.upsample))
                else:
                    terms.append(op(xs[j]))
            fused = terms[0] + terms[1]  # a new tensor: safe to update
            for term in terms[2:]:
                fused += term
            outs.append(F.relu(fused, inplace=True))
        return outs
