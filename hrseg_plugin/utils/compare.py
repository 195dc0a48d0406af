"""Relative differences between the outputs of two implementations."""
from typing import Sequence, Type

import torch


def max_rel_error(got: Sequence[torch.Tensor],
                  ref: Sequence[torch.Tensor],
                  names: Sequence[str] = ('ours', 'the reference'),
                  error: Type[Exception] = ValueError) -> float:
    """The largest ``||a - b|| / ||b||`` over paired outputs, computed in
    float64; raises ``error`` naming both sides (``names``) when their
    numbers of outputs or shapes differ."""
    if len(got) != len(ref):
        raise error(f'{names[0]} returns {len(got)} tensors, {names[1]} '
                    f'{len(ref)}')
    worst = 0.0
    for a, b in zip(got, ref):
        if tuple(a.shape) != tuple(b.shape):
            raise error(f'output shapes differ: {names[0]} {tuple(a.shape)}'
                        f', {names[1]} {tuple(b.shape)}')
        a, b = a.double(), b.double()
        worst = max(worst,
                    ((a - b).norm() / b.norm().clamp_min(1e-12)).item())
    return worst
