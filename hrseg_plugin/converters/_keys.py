"""Helpers for writing a converter: renaming keys (by patterns, or by a
prefix table read both ways), describing the expected keys of third-party
layouts (which we have no model of), filling in missing
``num_batches_tracked`` buffers."""
import re
from typing import Sequence, Tuple

import torch

_BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var',
            'num_batches_tracked')


def bn_spec(spec: dict, name: str, channels: int) -> None:
    """Add the keys of a BatchNorm called ``name`` to ``spec``."""
    for s in _BN_KEYS:
        spec[f'{name}.{s}'] = () if s == 'num_batches_tracked' else (
            channels, )


def conv_module_spec(spec: dict, name: str, cout: int, cin: int,
                     k: int) -> None:
    """Add the keys of a ``ConvModule`` (conv without bias, BN) called
    ``name`` to ``spec``."""
    spec[f'{name}.conv.weight'] = (cout, cin, k, k)
    bn_spec(spec, f'{name}.bn', cout)


def rename_key(key: str, renames) -> str:
    """Apply the first matching ``(pattern, replacement)`` of ``renames``."""
    for pattern, repl in renames:
        new, n = re.subn(pattern, repl, key)
        if n:
            return new
    return key


def map_prefix(key: str, key_map: Sequence[Tuple[str, str]],
               column: int) -> str:
    """Rename ``key`` by the ``key_map`` row whose ``column`` (0 theirs,
    1 ours) prefix it starts with: a prefix table read both ways.

    Raises:
        KeyError: No row matches ``key``.
    """
    for row in key_map:
        if key.startswith(row[column]):
            return row[1 - column] + key[len(row[column]):]
    raise KeyError(key)


def fill_num_batches_tracked(sd: dict, spec) -> bool:
    """Add zero ``num_batches_tracked`` buffers (in place) when the
    checkpoint has none at all (pre-0.4.1 torch / InPlaceABN); partial
    absence stays missing.

    Returns:
        bool: Whether they were added.
    """
    nbt = [k for k in spec if k.endswith('.num_batches_tracked')]
    if nbt and not any(k in sd for k in nbt):
        for k in nbt:
            sd[k] = torch.tensor(0, dtype=torch.long)
        return True
    return False
