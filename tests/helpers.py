"""Helpers shared by the tests (no fixtures: import them)."""
import os.path as osp

import torch
import torch.nn as nn
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm


@torch.no_grad()
def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every parameter and every norm statistic random values, so that
    a comparison of two models exercises all of them (fresh BN has mean 0,
    var 1, which hides a swapped or missing statistic)."""
    gen = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        # weights at 1/sqrt(fan_in) keep activations bounded through deep
        # nets (a fixed scale overflows HRNet-W48 to NaN)
        fan_in = p[0].numel() if p.dim() > 1 else 1
        p.copy_(torch.randn(p.shape, generator=gen) / fan_in**0.5 *
                (1.0 if p.dim() > 1 else 0.1))
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.running_mean.copy_(
                torch.randn(m.running_mean.shape, generator=gen) * 0.1)
            m.running_var.copy_(
                torch.rand(m.running_var.shape, generator=gen) + 0.5)
    return model


def rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b||."""
    return ((a - b).norm() / b.norm().clamp_min(1e-12)).item()


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Load ``src``'s state dict into ``dst`` strictly (same key layout)."""
    dst.load_state_dict(src.state_dict(), strict=True)


def stock_config(package: str, relpath: str) -> str:
    """Path of a config shipped inside an installed OpenMMLab package
    (``Config.fromfile`` takes ``mmseg::`` only inside ``_base_``)."""
    mod = __import__(package)
    return osp.join(osp.dirname(mod.__file__), '.mim', 'configs', relpath)
