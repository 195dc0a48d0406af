"""State-dict helpers shared by the converters, the tools and the engine.

* :func:`strip_prefix`: drop a wrapper prefix (``module.`` of
  (Distributed)DataParallel) from the keys;
* :func:`key_shapes`: the key -> shape layout of a module (also of one
  built on the ``meta`` device, which allocates nothing);
* :func:`compare_state_dicts`: a state dict against such a layout;
* :func:`describe_key_differences`: the one message that names the
  missing, unexpected and shape-mismatched keys (:func:`format_keys` lists
  them).
"""
from collections import OrderedDict
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

#: The prefix (Distributed)DataParallel puts before every key.
DDP_PREFIX = 'module.'


def strip_prefix(state_dict: Mapping,
                 prefix: str = DDP_PREFIX) -> 'OrderedDict':
    """The state dict with ``prefix`` removed from the keys that start with
    it (other keys are kept as they are), in the same order.

    Raises:
        ValueError: Two keys become one (``'module.x'`` and ``'x'``).
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        new = key[len(prefix):] if key.startswith(prefix) else key
        if new in out:
            raise ValueError('keys collide after stripping wrapper prefixes: '
                             f'{key!r} -> {new!r} is already present')
        out[new] = value
    return out


def key_shapes(module) -> 'OrderedDict[str, Tuple[int, ...]]':
    """``module.state_dict()`` as key -> shape, in its order."""
    return OrderedDict(
        (k, tuple(v.shape)) for k, v in module.state_dict().items())


def format_keys(keys: Iterable[str], limit: int = 20) -> str:
    """Format key names for an error message (at most ``limit`` of them).

    Args:
        keys (Iterable[str]): Key names.
        limit (int): How many to show before ``... (N more)``.

    Returns:
        str: One key per line, indented.
    """
    keys = list(keys)
    lines = [f'    {k}' for k in keys[:limit]]
    if len(keys) > limit:
        lines.append(f'    ... ({len(keys) - limit} more)')
    return '\n'.join(lines)


def compare_state_dicts(state_dict: Mapping,
                        expected: Dict[str, Tuple[int, ...]]
                        ) -> Tuple[List[str], List[str], List[str]]:
    """Compare a state dict with expected key -> shape.

    Args:
        state_dict (dict[str, Tensor]): The state dict to check.
        expected (dict[str, tuple]): Expected key -> shape.

    Returns:
        tuple[list[str], list[str], list[str]]: ``(missing, unexpected,
        mismatched)``; ``mismatched`` entries read ``'key: got (..),
        expected (..)'``.
    """
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [
        f'{k}: got {tuple(state_dict[k].shape)}, expected '
        f'{tuple(shape)}' for k, shape in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(shape)
    ]
    return missing, unexpected, mismatched


def describe_key_differences(what: str,
                             missing: List[str] = (),
                             unexpected: List[str] = (),
                             mismatched: List[str] = (),
                             hint: str = '',
                             total: Optional[int] = None) -> str:
    """The message naming the keys that differ, or ``''`` when none does.

    Args:
        what (str): What was compared (the first line, before a colon).
        missing (list[str]): Keys expected but absent.
        unexpected (list[str]): Keys present but not expected.
        mismatched (list[str]): ``'key: got .., expected ..'`` lines.
        hint (str): A last line (what to do).
        total (int, optional): How many keys were expected; shown as
            ``missing keys (N of total)``.
    """
    if not (missing or unexpected or mismatched):
        return ''
    of = f' of {total}' if total is not None else ''
    parts = [f'{what}:']
    if missing:
        parts.append(f'  missing keys ({len(missing)}{of}):\n'
                     f'{format_keys(missing)}')
    if unexpected:
        parts.append(f'  unexpected keys ({len(unexpected)}):\n'
                     f'{format_keys(unexpected)}')
    if mismatched:
        parts.append(f'  shape-mismatched keys ({len(mismatched)}):\n'
                     f'{format_keys(mismatched)}')
    if hint:
        parts.append(f'  {hint}')
    return '\n'.join(parts)
