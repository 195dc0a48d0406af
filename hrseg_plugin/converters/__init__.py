"""Checkpoint converters: third-party weights -> hrseg_plugin state dicts.

One module per origin (``hrnet_official.py``, ``mmseg.py``, ...) registers a
converter function with :func:`register_converter`. Every public module of
this package is imported the first time a converter is looked up, so adding
an origin is adding a file; nothing here has to change.
``tools/convert_weights.py`` is the command-line front end.

A converter is a function ``fn(checkpoint, progress=True) -> ConversionResult``
taking the object loaded from the input file (a ``dict``) and returning the
converted state dict plus origin-specific meta information. It raises
:class:`ConversionError` with a message naming the offending keys when it
refuses an input.

The converters themselves only use ``torch`` (and ``tqdm``); the optional
model check against a config (:func:`check_state_dict_against_config`)
imports mmengine / mmseg and the config's ``custom_imports`` lazily.
"""
import datetime
import hashlib
import importlib
import os
import pkgutil
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import torch

__all__ = [
    'KNOWN_ORIGINS', 'ConversionError',
    'ConversionResult', 'register_converter', 'get_converter',
    'available_origins', 'convert_checkpoint', 'load_checkpoint_file',
    'extract_state_dict', 'save_checkpoint', 'compare_state_dicts',
    'check_state_dict_against_model', 'build_model_from_config',
    'check_state_dict_against_config', 'format_keys'
]

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
    state_dict: 'OrderedDict[str, torch.Tensor]'
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
    """Import every public submodule once, so that they register."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith('_'):
            importlib.import_module(f'{__name__}.{info.name}')


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


# ----------------------------------------------------------------------------
# helpers shared by the converters
# ----------------------------------------------------------------------------


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


def load_checkpoint_file(path: str, weights_only: bool = True):
    """Load a checkpoint file on the CPU.

    Args:
        path (str): The ``.pth`` file.
        weights_only (bool): Use ``torch.load(weights_only=True)`` (no
            arbitrary code from the pickle). Set False only for trusted files
            that hold other Python objects (e.g. mmengine ``message_hub``).

    Returns:
        object: What ``torch.load`` returned.

    Raises:
        ConversionError: The file is missing or cannot be read.
    """
    if not os.path.isfile(path):
        raise ConversionError(f'no such checkpoint file: {path}')
    try:
        return torch.load(path, map_location='cpu', weights_only=weights_only)
    except Exception as e:  # noqa: BLE001 - report any loader failure
        hint = ''
        if weights_only:
            hint = ('\n  If the file is trusted and holds Python objects '
                    'besides tensors, retry with --no-weights-only.')
        raise ConversionError(
            f'cannot load {path}: {type(e).__name__}: {e}{hint}') from e


def extract_state_dict(checkpoint) -> Tuple['OrderedDict[str, torch.Tensor]',
                                            dict, str]:
    """Find the state dict inside a loaded checkpoint.

    Accepts ``{'state_dict': sd, ...}`` (mmengine / mmcv and the official
    HRNet ``checkpoint.pth.tar``), ``{'model': sd, ...}`` and a bare state
    dict.

    Args:
        checkpoint: The object loaded from the file.

    Returns:
        tuple: ``(state_dict, meta, container)`` where ``meta`` is the
        checkpoint's ``meta`` dict (empty if none) and ``container`` names
        where the state dict was found (``'state_dict'``, ``'model'`` or
        ``'bare'``).

    Raises:
        ConversionError: No dict of tensors was found.
    """
    if not isinstance(checkpoint, dict):
        raise ConversionError(
            f'the checkpoint is a {type(checkpoint).__name__}, not a dict')

    def _is_sd(d):
        return isinstance(d, dict) and len(d) > 0 and all(
            isinstance(v, torch.Tensor) for v in d.values())

    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'),
                                                dict) else {}
    for container in ('state_dict', 'model'):
        if container in checkpoint and isinstance(checkpoint[container],
                                                  dict):
            sd = checkpoint[container]
            bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
            if bad or not sd:
                raise ConversionError(
                    f'checkpoint[{container!r}] is not a state dict: '
                    f'non-tensor entries:\n{format_keys(bad)}'
                    if bad else f'checkpoint[{container!r}] is empty')
            return OrderedDict(sd), dict(meta), container
    if _is_sd(checkpoint):
        return OrderedDict(checkpoint), {}, 'bare'
    raise ConversionError(
        'no state dict found: expected a dict of tensors or a dict with a '
        "'state_dict' entry; top-level keys:\n"
        f'{format_keys(map(str, checkpoint.keys()))}')


def compare_state_dicts(state_dict: Dict[str, torch.Tensor],
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


def raise_on_differences(missing: List[str],
                         unexpected: List[str],
                         mismatched: List[str],
                         what: str,
                         hint: str = '') -> None:
    """Raise a :class:`ConversionError` listing key differences, if any.

    Args:
        missing (list[str]): Keys expected but absent.
        unexpected (list[str]): Keys present but not expected.
        mismatched (list[str]): ``'key: got .., expected ..'`` lines.
        what (str): What was compared, for the message.
        hint (str): Appended to the message.
    """
    if not (missing or unexpected or mismatched):
        return
    parts = [f'{what}:']
    if missing:
        parts.append(f'  missing keys ({len(missing)}):\n'
                     f'{format_keys(missing)}')
    if unexpected:
        parts.append(f'  unexpected keys ({len(unexpected)}):\n'
                     f'{format_keys(unexpected)}')
    if mismatched:
        parts.append(f'  shape-mismatched keys ({len(mismatched)}):\n'
                     f'{format_keys(mismatched)}')
    if hint:
        parts.append(f'  {hint}')
    raise ConversionError('\n'.join(parts))


def check_state_dict_against_model(state_dict: Dict[str, torch.Tensor],
                                   model: torch.nn.Module,
                                   what: str = 'model') -> None:
    """Check that ``state_dict`` has exactly ``model``'s keys and shapes.

    Args:
        state_dict (dict[str, Tensor]): Converted weights.
        model (nn.Module): The target model.
        what (str): Model description for the error message.

    Raises:
        ConversionError: Listing missing / unexpected / shape-mismatched
            keys by name.
    """
    expected = OrderedDict(
        (k, tuple(v.shape)) for k, v in model.state_dict().items())
    missing, unexpected, mismatched = compare_state_dicts(state_dict, expected)
    raise_on_differences(
        missing, unexpected, mismatched,
        f'the converted state dict does not fit {what}')


def build_model_from_config(config: str, cfg_options: Optional[dict] = None):
    """Build the model of an mmseg / mmdet style config (weights not
    initialised from any file).

    Imports the config's ``custom_imports`` and sets its ``default_scope``
    (``'mmseg'`` if unset) before building.

    Args:
        config (str): Config file path.
        cfg_options (dict, optional): Overrides merged with
            ``Config.merge_from_dict``.

    Returns:
        nn.Module: The model (in eval mode).
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
    scope = cfg.get('default_scope') or 'mmseg'
    init_default_scope(scope)
    try:
        registry = importlib.import_module(f'{scope}.registry').MODELS
    except (ImportError, AttributeError):
        from mmengine.registry import MODELS as registry
    model_cfg = cfg['model'].copy() if hasattr(cfg['model'], 'copy') \
        else dict(cfg['model'])
    # Never download or load pretrained weights while only checking keys.
    model_cfg.pop('pretrained', None)
    model = registry.build(model_cfg)
    return model.eval()


def check_state_dict_against_config(state_dict: Dict[str, torch.Tensor],
                                    config: str,
                                    cfg_options: Optional[dict] = None
                                    ) -> None:
    """Build the model of ``config`` and check ``state_dict`` against it.

    Args:
        state_dict (dict[str, Tensor]): Converted weights.
        config (str): Config file path.
        cfg_options (dict, optional): Config overrides.

    Raises:
        ConversionError: Listing missing / unexpected / shape-mismatched
            keys, or when the model cannot be built.
    """
    try:
        model = build_model_from_config(config, cfg_options)
    except Exception as e:  # noqa: BLE001 - report any build failure
        raise ConversionError(
            f'cannot build the model of {config}: {type(e).__name__}: {e}'
        ) from e
    check_state_dict_against_model(state_dict, model,
                                   f'the model of {config}')


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file.

    Args:
        path (str): File path.
        chunk (int): Read size.

    Returns:
        str: Hex digest.
    """
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


def conversion_meta(origin: str, converter: str,
                    source: Optional[str] = None) -> dict:
    """Common origin information for an output file's ``meta``.

    Args:
        origin (str): The ``--from`` name.
        converter (str): Module of the converter function.
        source (str, optional): Input file path.

    Returns:
        dict: ``origin``, ``converter``, ``hrseg_plugin_version``,
        ``converted_at`` (UTC ISO time) and, with ``source``,
        ``source_file`` and ``source_sha256``.
    """
    from hrseg_plugin import __version__
    meta = dict(
        origin=origin,
        converter=converter,
        hrseg_plugin_version=__version__,
        converted_at=datetime.datetime.now(
            datetime.timezone.utc).isoformat(timespec='seconds'))
    if source is not None:
        meta['source_file'] = os.path.basename(source)
        meta['source_sha256'] = file_sha256(source)
    return meta


def save_checkpoint(path: str, state_dict: Dict[str, torch.Tensor],
                    meta: dict) -> None:
    """Write ``{'state_dict': state_dict, 'meta': meta}`` atomically.

    The file is written to a temporary file in the same directory, synced and
    then renamed over ``path`` with :func:`os.replace`, so ``path`` is either
    absent/unchanged or complete.

    Args:
        path (str): Output file.
        state_dict (dict[str, Tensor]): Weights.
        meta (dict): Meta information.
    """
    out_dir = os.path.dirname(os.path.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{os.path.basename(path)}.', suffix='.tmp', dir=out_dir)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save({'state_dict': state_dict, 'meta': meta}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
