"""Pixel-to-object attention and the augmented representation of OCR."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

from ..speedups import effective_conv_params


def _projection(in_channels: int, channels: int, num_convs: int,
                conv_cfg: Optional[dict], norm_cfg: Optional[dict],
                act_cfg: Optional[dict]) -> nn.Module:
    """``num_convs`` 1x1 ConvModules (a bare one when num_convs == 1, as the
    key layout of stock checkpoints expects)."""
    convs = [
        ConvModule(
            in_channels if k == 0 else channels,
            channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg) for k in range(num_convs)
    ]
    return convs[0] if num_convs == 1 else nn.Sequential(*convs)


class ObjectAttentionBlock(nn.Module):
    """Each pixel attends to the K object representations; the attended
    context is concatenated with the pixel feature and projected back
    (Yuan et al., ECCV 2020, Eqs. (3)-(5)).

    Sub-module names (``query_project``, ``key_project``, ``value_project``,
    ``out_project``, ``bottleneck``) are those of stock mmseg's OCR block so
    its checkpoints load. Two rearrangements make it cheaper than stock
    with the same result:

    - the out-projection's 1x1 conv is applied to the K object values
      before the attention, not to the H*W attended pixels: the attention
      weights of a pixel sum to one over the objects, so
      ``conv(value @ sim) == conv(value) @ sim`` (the bias included). An
      eval-mode BatchNorm, an affine map per channel, moves in front the
      same way (see :meth:`_project_context`). That turns a (C/2 -> C) conv
      at full resolution into one over K vectors.
    - the attended context comes out in the memory format of the pixel
      features (``channels_last`` or not), and the bottleneck's 1x1 conv
      over ``cat([context, feats])`` runs as two convs, one per half,
      summed: no concatenated map, no layout conversion.

    Args:
        in_channels (int): Channels of pixel and object features.
        channels (int): Key/query channels.
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict | None): Norm layer config.
        act_cfg (dict | None): Activation config.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU')):
        super().__init__()
        self.channels = channels
        self.query_project = _projection(in_channels, channels, 2, conv_cfg,
                                         norm_cfg, act_cfg)
        self.key_project = _projection(in_channels, channels, 2, conv_cfg,
                                       norm_cfg, act_cfg)
        self.value_project = _projection(in_channels, channels, 1, conv_cfg,
                                         norm_cfg, act_cfg)
        self.out_project = _projection(channels, in_channels, 1, conv_cfg,
                                       norm_cfg, act_cfg)
        self.bottleneck = ConvModule(
            in_channels * 2,
            in_channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def forward(self, feats: torch.Tensor,
                objects: torch.Tensor) -> torch.Tensor:
        """Augment pixel features with their object context.

        Args:
            feats (Tensor): Pixel features, (N, C, H, W).
            objects (Tensor): Object features, (N, C, K, 1).

        Returns:
            Tensor: (N, C, H, W), in the memory format of ``feats``.
        """
        n, _, h, w = feats.shape
        # flatten(2) is a view in both layouts: (N, c, HW)
        query = self.query_project(feats).flatten(2)
        key = self.key_project(objects).flatten(2)  # N, c, K
        value = self.value_project(objects)  # N, c, K, 1
        sim = torch.bmm(key.transpose(1, 2), query) * self.channels**-0.5
        sim = torch.softmax(sim, dim=1)  # N, K, HW: over the K objects
        channels_last = feats.dim() == 4 and not feats.is_contiguous() and \
            feats.is_contiguous(memory_format=torch.channels_last)
        context = self._project_context(value, sim, (n, h, w), channels_last)
        return self._fuse(context, feats)

    def _fuse(self, context: torch.Tensor,
              feats: torch.Tensor) -> torch.Tensor:
        """``bottleneck(cat([context, feats]))`` without the concatenation:
        the 1x1 conv over the two halves is the sum of one conv per half.
        No 2C-channel map is written, nor kept for the backward pass."""
        m = self.bottleneck
        conv = m.conv
        if not (type(conv) is nn.Conv2d and conv.kernel_size == (1, 1)
                and conv.groups == 1 and not m.with_explicit_padding
                and tuple(m.order) == ('conv', 'norm', 'act')):
            return m(torch.cat([context, feats], dim=1))
        weight, bias = effective_conv_params(conv)  # norm folded in or not
        c = context.shape[1]
        out = F.conv2d(context, weight[:, :c], bias) + \
            F.conv2d(feats, weight[:, c:])
        if m.with_norm:
            out = m.norm(out)  # a no-op when folded into weight and bias
        if m.with_activation:
            out = m.activate(out)
        return out

    def _project_context(self, value: torch.Tensor, sim: torch.Tensor,
                         size: tuple, channels_last: bool) -> torch.Tensor:
        """``out_project(value @ sim)`` as an (N, C, H, W) map."""
        n, h, w = size
        project = self.out_project
        conv = project.conv
        reassociate = (
            type(conv) is nn.Conv2d and conv.kernel_size == (1, 1)
            and conv.groups == 1 and tuple(project.order[:1]) == ('conv', ))
        if not reassociate:  # a custom conv: the plain order
            context = _attend(value.flatten(2), sim, n, h, w, channels_last)
            return project(context)
        values = conv(value)  # N, C, K, 1: the conv over K vectors only
        # Moving the norm ahead of the attention is exact for an eval-mode
        # BatchNorm: it is affine per channel, n(y) = a * y + b, and the
        # attention weights of a pixel sum to one over the K objects, so
        # n(sum_k sim_k v_k) = sum_k sim_k (a * v_k + b) = (n(v) @ sim).
        # GroupNorm (statistics of the whole map) and a training BatchNorm
        # (batch statistics) are not such maps: they keep the plain order.
        # (When the conv folded the norm in, the norm's call is a no-op.)
        norm_first = project.with_norm and _is_eval_batch_norm(
            project.norm) and tuple(project.order[:2]) == ('conv', 'norm')
        if norm_first:
            values = project.norm(values)
        context = _attend(values.flatten(2), sim, n, h, w, channels_last)
        for layer in project.order[1:]:
            if layer == 'norm' and project.with_norm and not norm_first:
                context = project.norm(context)
            elif layer == 'act' and project.with_activation:
                context = project.activate(context)
        return context


def _is_eval_batch_norm(norm: nn.Module) -> bool:
    """A BatchNorm normalising with its running statistics (an affine map
    per channel)."""
    return isinstance(norm, _BatchNorm) and not norm.training and \
        norm.running_var is not None


def _attend(values: torch.Tensor, sim: torch.Tensor, n: int, h: int, w: int,
            channels_last: bool) -> torch.Tensor:
    """``values @ sim``, (N, C, K) x (N, K, HW), as an (N, C, H, W) map
    stored ``channels_last`` or contiguous."""
    if channels_last:  # (N, HW, C) is the channels_last storage of NCHW
        out = torch.bmm(sim.transpose(1, 2), values.transpose(1, 2))
        return out.view(n, h, w, -1).permute(0, 3, 1, 2)
    return torch.bmm(values, sim).view(n, -1, h, w)
