"""Training-step speed-up of the decode heads' loss: the upsampled
cross-entropy computed with its gradient in one pass, nothing kept at full
resolution for the backward pass.

mmseg's ``BaseDecodeHead.loss_by_feat`` resizes the logits to the label
size (bilinear), runs ``F.cross_entropy`` and mmseg's ``accuracy`` on them.
At 512x1024 that is a 19-channel map of 40 MB per image and head, which the
autograd graph keeps (the log-softmax output) until the backward pass, and
which costs a ``topk`` over all pixels for the logged accuracy, a full copy
when the logits are ``channels_last`` (``nll_loss2d`` wants the default
layout) and two zero-filled full-size gradients in the backward pass. For
BiSeNet-R18 (three heads) that was about a third of a training step's time
outside the convolutions.

:class:`UpsampledCrossEntropy` computes the same loss, and in the same pass
its gradient with respect to the *low-resolution* logits (the gradient of
the upsampling, ``upsample_bilinear2d_backward``, of ``softmax - onehot``):
the backward pass only scales that small tensor. No full-resolution tensor
outlives the forward call (memory without recomputation), the classes are
the innermost dimension throughout (``channels_last``: the softmax reads
contiguous rows), and the accuracy is an ``argmax`` instead of a ``topk``.
Loss, gradients and accuracy equal mmseg's to float rounding
(``tests/test_speedups.py``).

:func:`enable_fast_seg_loss` installs it on every mmseg decode head of a
module tree whose class keeps ``BaseDecodeHead.loss_by_feat``; each call
checks that the head's loss is what it computes (one plain
``CrossEntropyLoss`` with ``reduction='mean'``, no class weights, no pixel
sampler) and otherwise runs mmseg's own.
"""
import functools
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

Tensor = torch.Tensor


class UpsampledCrossEntropy(torch.autograd.Function):
    """``F.cross_entropy(resize(logits, size), label, ignore_index)``
    summed over the pixels, with the arg-max accuracy; the gradient is
    computed in the forward call (see the module docstring).

    Forward arguments: ``logits`` (N, K, h, w), ``label`` (N, H, W) long,
    ``align_corners``, ``ignore_index``, ``divisor`` (what the sum is
    divided by, mmseg's ``avg_factor + eps``; ``None``: the number of
    non-ignored pixels + eps), ``with_grad`` (compute the gradient).
    Returns the loss (a 0-dim float32 tensor) and the accuracy in percent
    (a (1, ) tensor, no gradient).
    """

    @staticmethod
    def forward(ctx, logits: Tensor, label: Tensor, align_corners: bool,
                ignore_index: int, divisor: Optional[float],
                with_grad: bool):
        with torch.autocast(logits.device.type, enabled=False):
            return UpsampledCrossEntropy._forward(
                ctx, logits, label, align_corners, ignore_index, divisor,
                with_grad)

    @staticmethod
    def _forward(ctx, logits, label, align_corners, ignore_index, divisor,
                 with_grad):
        n, k, h, w = logits.shape
        size = tuple(label.shape[-2:])
        # classes innermost: each pixel's K logits are one contiguous row
        low = logits.detach().float().contiguous(
            memory_format=torch.channels_last)
        up = F.interpolate(low, size=size, mode='bilinear',
                           align_corners=align_corners)
        up = up.contiguous(memory_format=torch.channels_last)
        z = up.permute(0, 2, 3, 1).reshape(-1, k)  # a view: (pixels, K)
        target = label.reshape(-1)
        valid = target != ignore_index
        safe = torch.where(valid, target, 0).unsqueeze(1)
        pred = z.argmax(1)
        log_p = torch.log_softmax(z, 1)
        del z, up
        loss_sum = -(log_p.gather(1, safe).squeeze(1) * valid).sum()
        num_valid = int(valid.sum())
        if divisor is None:
            divisor = num_valid + torch.finfo(torch.float32).eps
        eps = torch.finfo(torch.float32).eps
        correct = (pred == target).logical_and_(valid).sum().float()
        accuracy = (correct.reshape(1) + eps).mul_(100.0 /
                                                    (num_valid + eps))
        ctx.divisor = divisor
        ctx.low_layout = logits.is_contiguous(
            memory_format=torch.channels_last) and not logits.is_contiguous()
        ctx.dtype = logits.dtype
        if with_grad:
            grad = log_p.exp_()  # softmax, in place
            grad.scatter_add_(1, safe, -valid.to(grad.dtype).unsqueeze(1))
            if num_valid < valid.numel():
                grad.index_fill_(0, torch.nonzero(~valid).squeeze(1), 0)
            grad_up = grad.view(n, size[0], size[1], k).permute(0, 3, 1, 2)
            grad_low = torch.ops.aten.upsample_bilinear2d_backward(
                grad_up, list(size), [n, k, h, w], align_corners, None,
                None)
            ctx.save_for_backward(grad_low)
        return loss_sum / divisor, accuracy

    @staticmethod
    def backward(ctx, grad_loss: Tensor, grad_accuracy: Tensor):
        grad_low, = ctx.saved_tensors
        grad = (grad_low * (grad_loss / ctx.divisor)).to(ctx.dtype)
        if not ctx.low_layout:
            grad = grad.contiguous()
        return grad, None, None, None, None, None


def upsampled_cross_entropy(logits: Tensor, label: Tensor,
                            align_corners: bool = False,
                            ignore_index: int = 255,
                            avg_non_ignore: bool = False):
    """mmseg's cross-entropy (``reduction='mean'``) of the logits resized
    to the label's size, and mmseg's ``accuracy`` of them, computed by
    :class:`UpsampledCrossEntropy`.

    Args:
        logits (Tensor): (N, K, h, w) scores.
        label (Tensor): (N, H, W) class indices.
        align_corners (bool): Of the bilinear resize.
        ignore_index (int): Label of pixels without loss.
        avg_non_ignore (bool): Average over the non-ignored pixels (else
            over all, mmseg's default).

    Returns:
        tuple[Tensor, Tensor]: Loss (mean over pixels) and accuracy (%).
    """
    eps = torch.finfo(torch.float32).eps
    divisor = None if avg_non_ignore else label.numel() + eps
    with_grad = torch.is_grad_enabled() and logits.requires_grad
    return UpsampledCrossEntropy.apply(logits, label, align_corners,
                                       ignore_index, divisor, with_grad)


def _plain_cross_entropy(loss: nn.Module) -> bool:
    """Whether ``loss`` is mmseg's softmax ``CrossEntropyLoss`` with mean
    reduction and no class weights."""
    from mmseg.models.losses import CrossEntropyLoss
    from mmseg.models.losses.cross_entropy_loss import cross_entropy
    return (type(loss) is CrossEntropyLoss and not loss.use_sigmoid
            and not loss.use_mask and loss.class_weight is None
            and loss.reduction == 'mean'
            and loss.cls_criterion is cross_entropy)


def fast_path_applies(head: nn.Module, seg_logits: Tensor) -> bool:
    """Whether :func:`fast_loss_by_feat` computes ``head``'s loss (see the
    module docstring); else mmseg's own runs.

    Args:
        head (nn.Module): An mmseg decode head.
        seg_logits (Tensor): Its output.

    Returns:
        bool: One plain cross-entropy loss, no sampler, 4-D logits.
    """
    losses = head.loss_decode
    if isinstance(losses, nn.ModuleList):
        if len(losses) != 1:
            return False
        losses = losses[0]
    return (head.sampler is None and seg_logits.dim() == 4
            and _plain_cross_entropy(losses))


def fast_loss_by_feat(head: nn.Module, seg_logits: Tensor,
                      batch_data_samples: Sequence) -> dict:
    """``BaseDecodeHead.loss_by_feat`` with :func:`upsampled_cross_entropy`
    where :func:`fast_path_applies`: the same keys and values.

    Args:
        head (nn.Module): The decode head.
        seg_logits (Tensor): Its output, (N, K, h, w).
        batch_data_samples (list): The data samples with ``gt_sem_seg``.

    Returns:
        dict[str, Tensor]: The loss (under the loss' ``loss_name``) and
        ``acc_seg``.
    """
    from mmseg.models.decode_heads.decode_head import BaseDecodeHead
    if not fast_path_applies(head, seg_logits):
        return BaseDecodeHead.loss_by_feat(head, seg_logits,
                                           batch_data_samples)
    losses = head.loss_decode
    loss_module = losses[0] if isinstance(losses, nn.ModuleList) else losses
    seg_label = head._stack_batch_gt(batch_data_samples).squeeze(1)
    loss, accuracy = upsampled_cross_entropy(
        seg_logits, seg_label, head.align_corners, head.ignore_index,
        loss_module.avg_non_ignore)
    return {loss_module.loss_name: loss_module.loss_weight * loss,
            'acc_seg': accuracy}


def enable_fast_seg_loss(module: nn.Module) -> None:
    """Install :func:`fast_loss_by_feat` as the ``loss_by_feat`` of every
    mmseg decode head below ``module`` (``module`` included) whose class
    does not override ``BaseDecodeHead.loss_by_feat``. Idempotent.

    Args:
        module (nn.Module): A module tree, changed in place.
    """
    try:
        from mmseg.models.decode_heads.decode_head import BaseDecodeHead
    except ImportError:  # mmdet-only installations: no segmentation heads
        return
    for m in module.modules():
        if isinstance(m, BaseDecodeHead) and \
                type(m).loss_by_feat is BaseDecodeHead.loss_by_feat and \
                not isinstance(m.__dict__.get('loss_by_feat'),
                               functools.partial):
            m.loss_by_feat = functools.partial(fast_loss_by_feat, m)
