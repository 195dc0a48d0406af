"""What a converter is, and the registry of converters by origin.

A converter is a function ``fn(checkpoint, progress=True) ->
ConversionResult`` taking the object loaded from the input file (a
``dict``) and returning the converted state dict plus origin-specific meta
information. It raises :class:`ConversionError` with a message naming the
offending keys when it refuses an input. It is registered for its
``--from`` name with :func:`register_converter`.

Every public module of this package is imported the first time a converter
is looked up, so adding an origin is adding a file; nothing here has to
change.
"""
import importlib
import pkgutil
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict

#: Origins the ``tools/convert_weights.py`` contract (DESIGN.md) names;
#: each has a registered converter (tests/test_convert_hrnet_official.py).
KNOWN_ORIGINS = ('mmseg', 'mmdet', 'mmpose', 'mmpretrain', 'timm',
                 'hrnet-official', 'bisenet-coincheung')


class ConversionError(Exception):
    """The input cannot be converted (missing / unknown / mis-shaped keys,
    unreadable file, mismatch with the target model...)."""


@dataclass
class ConversionResult:
    """The output of a converter.

    Attributes:
        state_dict (OrderedDict[str, Tensor]): Converted weights, in the
            hrseg_plugin (= mmseg / mmdet) key layout.
        meta (dict): Origin information to store in the output file's
            ``meta`` (architecture, folded biases, dropped keys, ...).
    """
    state_dict: 'OrderedDict'
    meta: dict = field(default_factory=dict)


_CONVERTERS: Dict[str, Callable] = {}
_DESCRIPTIONS: Dict[str, str] = {}
_discovered = False


def register_converter(origin: str, description: str = ''):
    """Decorator registering ``fn`` as the converter for ``origin``.

    Args:
        origin (str): The ``--from`` name, e.g. ``'hrnet-official'``.
        description (str): One line shown by ``tools/convert_weights.py -h``.

    Returns:
        Callable: The decorator; it returns the function unchanged.
    """

    def _register(fn):
        if origin in _CONVERTERS and _CONVERTERS[origin] is not fn:
            raise KeyError(f'a converter for origin {origin!r} is already '
                           f'registered ({_CONVERTERS[origin].__module__})')
        _CONVERTERS[origin] = fn
        _DESCRIPTIONS[origin] = description
        return fn

    return _register


def _discover() -> None:
    """Import every public module of this package once, so that the
    converters register."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith('_'):
            importlib.import_module(f'{__package__}.{info.name}')


def available_origins() -> Dict[str, str]:
    """Registered origins.

    Returns:
        dict[str, str]: origin -> description, for origins with a converter.
    """
    _discover()
    return {k: _DESCRIPTIONS[k] for k in sorted(_CONVERTERS)}


def get_converter(origin: str) -> Callable:
    """Return the converter function for ``origin``.

    Args:
        origin (str): A ``--from`` name.

    Returns:
        Callable: ``fn(checkpoint, progress=True) -> ConversionResult``.

    Raises:
        KeyError: no converter is registered for ``origin``.
    """
    _discover()
    if origin in _CONVERTERS:
        return _CONVERTERS[origin]
    raise KeyError(f'unknown origin {origin!r}; known: '
                   f'{", ".join(sorted(_CONVERTERS))}')


def convert_checkpoint(origin: str,
                       checkpoint: dict,
                       progress: bool = False) -> ConversionResult:
    """Convert a loaded checkpoint with the converter registered for
    ``origin``.

    Args:
        origin (str): A ``--from`` name.
        checkpoint (dict): The object loaded from the input file.
        progress (bool): Show a tqdm progress bar over the keys.

    Returns:
        ConversionResult: Converted state dict and meta (``meta['origin']``
        is set to ``origin``).
    """
    result = get_converter(origin)(checkpoint, progress=progress)
    result.meta.setdefault('origin', origin)
    return result
