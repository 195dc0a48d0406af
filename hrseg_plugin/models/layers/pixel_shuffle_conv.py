"""A 1x1 classifier that upsamples by pixel shuffle."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class PixelShuffleConv2d(nn.Conv2d):
    """1x1 conv to ``out_channels * factor**2`` channels, then pixel shuffle
    (Shi et al., CVPR 2016) to ``factor`` times the resolution: a learned
    upsampling of class scores, as CoinCheung/BiSeNet's ``BiSeNetOutput``
    (``up_factor``) does.

    A ``Conv2d`` subclass, so a head's ``conv_seg`` can be one and keep its
    parameter names (``conv_seg.weight``, ``conv_seg.bias``) and init.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels after the shuffle.
        factor (int): Upsampling factor.
        bias (bool): Conv bias. Default: True.
    """

    def __init__(self, in_channels: int, out_channels: int, factor: int,
                 bias: bool = True):
        if not (isinstance(factor, int) and factor >= 1):
            raise ValueError(f'pixel_shuffle_factor={factor!r} must be an '
                             'int >= 1')
        super().__init__(in_channels, out_channels * factor**2, 1, bias=bias)
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w) -> (N, out_channels, factor * h, factor * w)."""
        return F.pixel_shuffle(super().forward(x), self.factor)
