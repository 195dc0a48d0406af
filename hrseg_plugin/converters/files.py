"""The converters' input and output files.

The output is ``{'state_dict': ..., 'meta': {...}}``, written atomically
(:func:`hrseg_plugin.utils.atomic_save_file`); :func:`conversion_meta` is
the origin information every output carries.
"""
import datetime
import hashlib
import os
from typing import Dict, Optional

import torch

from hrseg_plugin.utils import checkpoint_io
from .registry import ConversionError

#: Added to the message when a weights-only load fails.
NO_WEIGHTS_ONLY_HINT = (
    '\n  If the file is trusted and holds Python objects besides tensors, '
    'retry with --no-weights-only.')


def load_checkpoint_file(path: str, weights_only: bool = True):
    """Load a checkpoint file on the CPU.

    Args:
        path (str): The ``.pth`` file.
        weights_only (bool): Use ``torch.load(weights_only=True)`` (no
            arbitrary code from the pickle). Set False only for trusted files
            that hold other Python objects.

    Returns:
        object: What ``torch.load`` returned.

    Raises:
        ConversionError: The file is missing or cannot be read.
    """
    return checkpoint_io.load_checkpoint_file(
        path, weights_only, error=ConversionError,
        hint=NO_WEIGHTS_ONLY_HINT if weights_only else '')


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
    """Write ``{'state_dict': state_dict, 'meta': meta}`` atomically: to a
    temporary file in the same directory, synced, then renamed over
    ``path``, so ``path`` is either absent/unchanged or complete.

    Args:
        path (str): Output file.
        state_dict (dict[str, Tensor]): Weights.
        meta (dict): Meta information.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    checkpoint_io.atomic_save_file(
        lambda tmp: torch.save({'state_dict': state_dict, 'meta': meta}, tmp),
        path)
