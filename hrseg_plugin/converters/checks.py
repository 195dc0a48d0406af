"""Checks the converters make on their input and output state dicts.

* :func:`extract_state_dict`: find the state dict inside a loaded file;
* :func:`raise_on_differences`: refuse, naming the missing / unexpected /
  shape-mismatched keys (the message of
  :func:`hrseg_plugin.utils.describe_key_differences`);
* :func:`check_state_dict_against_model` /
  :func:`check_state_dict_against_config`: the converted state dict must
  have exactly the target model's keys and shapes (``--config``).
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

from hrseg_plugin.utils.config import build_model_from_config
from hrseg_plugin.utils.state_dicts import (compare_state_dicts,
                                            describe_key_differences,
                                            format_keys, key_shapes)
from .registry import ConversionError


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
    message = describe_key_differences(what, missing, unexpected,
                                       mismatched, hint)
    if message:
        raise ConversionError(message)


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
    raise_on_differences(
        *compare_state_dicts(state_dict, key_shapes(model)),
        f'the converted state dict does not fit {what}')


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
