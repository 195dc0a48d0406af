"""Channel attention of BiSeNet's ARM and FFM: global pool, 1x1 convs,
sigmoid."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule


class ChannelAttention(nn.Module):
    """Per-channel weights in (0, 1) from the globally pooled feature, the
    attention vector of BiSeNet's Attention Refinement and Feature Fusion
    Modules (Yu et al., ECCV 2018, Fig. 2 (b), (c)).

    The weights are ``sigmoid(convs(avg_pool(x)))`` where ``convs`` is

    - one 1x1 conv ``C -> C`` (``reduction=None``): the ARM of the paper and
      of every implementation, and stock mmseg's FFM;
    - or two 1x1 convs ``C -> C // reduction -> C`` with an activation
      between them: the FFM of the paper's figure, of CoinCheung/BiSeNet
      (``reduction=4``) and of TorchSeg (``reduction=1``).

    The convs have no bias (as in all those implementations); each is
    followed by ``norm_cfg`` when given. The activation follows the hidden
    conv and, with ``act_before_sigmoid=True``, the last one too: stock
    mmseg's FFM computes ``sigmoid(relu(bn(conv(x))))``.

    Args:
        channels (int): Channels of the feature (and of the weights).
        reduction (int | None): Hidden width divisor, or None for one conv.
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict | None): Norm after each conv (None: no norm).
        act_cfg (dict): Activation between the convs.
        act_before_sigmoid (bool): Apply ``act_cfg`` after the last conv too.
    """

    def __init__(self,
                 channels: int,
                 reduction: Optional[int] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: dict = dict(type='ReLU'),
                 act_before_sigmoid: bool = False):
        super().__init__()
        if reduction is not None and not (isinstance(reduction, int) and
                                          0 < reduction <= channels):
            raise ValueError(f'ChannelAttention: reduction={reduction!r} must '
                             f'be None or an int in 1..{channels}')
        widths = [channels] if reduction is None else [
            channels // reduction, channels
        ]
        acts = [act_cfg] * (len(widths) - 1) + [
            act_cfg if act_before_sigmoid else None
        ]
        convs, in_ch = [], channels
        for out_ch, act in zip(widths, acts):
            convs.append(
                ConvModule(in_ch, out_ch, 1, bias=False, conv_cfg=conv_cfg,
                           norm_cfg=norm_cfg, act_cfg=act))
            in_ch = out_ch
        self.convs = nn.Sequential(*convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the weights.

        Args:
            x (Tensor): Feature, (N, C, H, W).

        Returns:
            Tensor: Weights, (N, C, 1, 1).
        """
        return torch.sigmoid(self.convs(F.adaptive_avg_pool2d(x, 1)))
