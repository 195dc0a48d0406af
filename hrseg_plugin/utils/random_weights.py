"""Random weights for comparing two implementations of one model."""
from typing import Any, Callable

import torch
import torch.nn as nn
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm


@torch.no_grad()
def randomize_(model: nn.Module, seed: int = 0,
               mean_scale: float = 0.1) -> nn.Module:
    """Give every parameter and every norm statistic random values, so that
    a comparison of two models exercises all of them (a fresh BN has mean 0
    and var 1, which hides a swapped or missing statistic).

    Weights are drawn at a 1/sqrt(fan_in) scale, which keeps activations
    bounded through deep nets (a fixed scale overflows HRNet-W48 to NaN).

    Args:
        model (nn.Module): The model, changed in place.
        seed (int): Seed of the generator.
        mean_scale (float): Standard deviation of the random running means.

    Returns:
        nn.Module: ``model``.
    """
    gen = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        fan_in = p[0].numel() if p.dim() > 1 else 1
        p.copy_(torch.randn(p.shape, generator=gen) / fan_in**0.5 *
                (1.0 if p.dim() > 1 else 0.1))
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.running_mean.copy_(
                torch.randn(m.running_mean.shape, generator=gen) *
                mean_scale)
            m.running_var.copy_(
                torch.rand(m.running_var.shape, generator=gen) + 0.5)
    return model


@torch.no_grad()
def calibrate_norms_(model: nn.Module, run: Callable[[], Any]) -> nn.Module:
    """Set every BatchNorm's running statistics to the statistics of one
    pass, ``run()``, made with the model in train mode (what training
    leaves in them).

    With :func:`randomize_`'s random statistics a deep network's
    activations drift layer after layer: HRNet-W48 + OCR ends with logits of
    standard deviation ~8000, where float32 rounding alone moves outputs by
    1e-3 relative, so that two correct implementations cannot be compared
    at 1e-4. Calibrated, the activations stay normalised as in a trained
    network and the outputs are as well conditioned.

    Args:
        model (nn.Module): The model, changed in place; its train / eval
            mode is restored.
        run (callable): Runs the model once on representative inputs.

    Returns:
        nn.Module: ``model``.
    """
    norms = [m for m in model.modules()
             if isinstance(m, _BatchNorm) and m.track_running_stats]
    momenta = [m.momentum for m in norms]
    was_training = model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: exactly this pass
    model.train()
    run()
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.train(was_training)
    return model
