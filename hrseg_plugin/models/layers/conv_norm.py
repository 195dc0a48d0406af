"""A conv and its norm, with the norm folded into the conv in eval mode."""
import contextlib
import threading
from typing import Iterator, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm


_state = threading.local()


@contextlib.contextmanager
def eval_folding(enabled: bool) -> Iterator[None]:
    """Turn the folding of :func:`conv_norm_forward` on or off (in this
    thread) for a block of code; on by default. Off, each conv and its norm
    run one after the other, so that HRNet computes the same float
    operations as stock mmseg / mmdet: for comparisons op for op, where a
    random-weight detector would turn the ~1e-6 rounding difference into
    other top-k picks. (The OCR head's rearranged attention is not
    affected.)"""
    before = getattr(_state, 'enabled', True)
    _state.enabled = enabled
    try:
        yield
    finally:
        _state.enabled = before


def can_fold(conv: nn.Module, norm: nn.Module) -> bool:
    """Whether ``norm(conv(x))`` can run as one conv: a plain ``Conv2d``
    followed by a BatchNorm in eval mode that has running statistics (and
    folding not turned off by :func:`eval_folding`)."""
    return (getattr(_state, 'enabled', True) and not norm.training
            and isinstance(norm, _BatchNorm)
            and norm.track_running_stats and norm.running_var is not None
            and isinstance(conv, nn.Conv2d)
            and type(conv).forward is nn.Conv2d.forward)


def folded_weight_and_bias(conv: nn.Conv2d, norm: _BatchNorm
                           ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The weight and bias of the single conv equal to ``norm(conv(x))``
    for a BatchNorm in eval mode: ``w * s`` and ``(b - mean) * s + beta``
    per output channel, ``s = gamma / sqrt(var + eps)``. Computed from the
    current parameters (differentiable), as mmcv's
    ``efficient_conv_bn_eval_forward`` does."""
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    bias = -norm.running_mean if conv.bias is None else \
        conv.bias - norm.running_mean
    bias = bias * scale
    if norm.bias is not None:
        bias = bias + norm.bias
    return conv.weight * scale.reshape(-1, 1, 1, 1), bias


def folding_pays(conv: nn.Conv2d, x: torch.Tensor) -> bool:
    """Whether folding costs less than the norm's pass: folding scales the
    conv's weight (``C_out * C_in / groups * kh * kw`` values) where the norm
    would scale its output (``C_out * N * H_out * W_out``). On a small map
    with many input channels (HRNet-W48's last branch, ResNet's last stage at
    1/32) scaling the weight on every call costs up to 9x more than the
    norm; there the pair runs unfolded (same result)."""
    n, _, h, w = x.shape
    kh, kw = conv.kernel_size
    out_pixels = n * (h // conv.stride[0]) * (w // conv.stride[1])
    return out_pixels >= conv.in_channels // conv.groups * kh * kw


def conv_norm_forward(conv: nn.Module, norm: nn.Module,
                      x: torch.Tensor) -> torch.Tensor:
    """``norm(conv(x))``.

    With a BatchNorm in eval mode (inference, or frozen / ``norm_eval``
    norms in training) the norm is an affine map per channel, so it folds
    into the conv's weights and bias: one conv instead of a conv and a pass
    over its output. The folded weights are computed on every call from the
    current parameters (:func:`folded_weight_and_bias`, after Xiong et
    al., "Tune-Mode ConvBN Blocks For Efficient Transfer Learning", 2023):
    nothing is cached that could go stale, the state dict keeps
    both modules, and gradients reach both as without folding. Where the
    output map is too small for that to pay (:func:`folding_pays`) the pair
    runs unfolded. It serves :class:`FoldingConvModule` and the conv / norm
    pairs that are not ConvModules (HRNet's blocks, stem, fuse and
    transition units, whose checkpoint key layout rules out ConvModule; the
    ResNet of :mod:`hrseg_plugin.models.backbones.resnet`).
    """
    if can_fold(conv, norm) and folding_pays(conv, x):
        return conv._conv_forward(x, *folded_weight_and_bias(conv, norm))
    return norm(conv(x))


class ConvNorm(nn.Sequential):
    """``Sequential(conv, norm, *rest)`` whose conv + norm fold in eval
    mode (:func:`conv_norm_forward`); the keys stay ``.0`` / ``.1`` /
    ... as those of a plain ``nn.Sequential``, so checkpoints load."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = conv_norm_forward(self[0], self[1], x)
        for layer in list(self)[2:]:
            x = layer(x)
        return x


class FoldingConvModule(ConvModule):
    """mmcv's ``ConvModule`` (same arguments, parameters and names) whose
    conv + BatchNorm run as one conv in eval mode
    (:func:`conv_norm_forward`).

    mmcv offers the same with ``efficient_conv_bn_eval=True``, but it swaps
    ``conv.forward`` in and out on every call, which ``torch.compile``
    cannot trace ("'Conv2d' object has no attribute 'forward'"); this
    forward is plain code that it can.
    """

    def forward(self,
                x: torch.Tensor,
                activate: bool = True,
                norm: bool = True) -> torch.Tensor:
        if not (norm and self.with_norm and self.order[:2] == ('conv', 'norm')
                and can_fold(self.conv, self.norm)
                and folding_pays(self.conv, x)):
            return super().forward(x, activate, norm)
        if self.with_explicit_padding:
            x = self.padding_layer(x)
        x = self.conv._conv_forward(
            x, *folded_weight_and_bias(self.conv, self.norm))
        if activate and self.with_activation and 'act' in self.order[2:]:
            x = self.activate(x)
        return x
