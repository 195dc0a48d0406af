"""Helpers for writing a converter: renaming keys, and describing the
expected keys of third-party layouts (which we have no model of)."""
import re

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
