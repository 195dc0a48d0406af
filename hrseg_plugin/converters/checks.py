"""Checks the converters make on their input and output state dicts.

* :func:`extract_state_dict`: find the state dict inside a loaded file;
* :func:`raise_on_differences`: refuse, naming the missing / unexpected /
  shape-mismatched keys (the message of
  :func:`hrseg_plugin.utils.describe_key_differences`);
* :func:`check_state_dict_against_model` /
  :func:`check_state_dict_against_config`: the converted state dict must
  have exactly the target model's keys and shapes (``--config``);
* :func:`refuse_foreign_keys` and :func:`copy_validated`: the two ends of
  the converters whose input already has our keys (mmseg, mmdet, mmpose,
  mmpretrain): refuse another model's checkpoint, copy the rest.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from hrseg_plugin.utils.config import build_model_from_config
from hrseg_plugin.utils.state_dicts import (compare_state_dicts,
                                            describe_key_differences,
                                            format_keys, key_shapes)
from ._keys import rename_key
from .registry import ConversionError, ConversionResult


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


#: The official HRNet-OCR code saves its model under a wrapper
#: (``FullModel.model``), so its keys are recognised with one as well.
_OFFICIAL_OCR = ('conv3x3_ocr.', 'ocr_distri_head.', 'cls_head.')

#: ``(key prefixes, what a checkpoint with them is, its --from, another
#: way)``: which converter an input belongs to when another one refuses it.
KNOWN_LAYOUTS = (
    (_OFFICIAL_OCR + tuple(wrapper + p for wrapper in ('model.', 'module.')
                           for p in _OFFICIAL_OCR),
     'an official HRNet-OCR checkpoint', 'hrnet-official', ''),
    (('cp.', 'sp.', 'ffm.', 'conv_out'), 'a CoinCheung/BiSeNet checkpoint',
     'bisenet-coincheung', ''),
    (('decode_head.', 'auxiliary_head.'), 'an mmseg segmentor', 'mmseg', ''),
    (('rpn_head.', 'roi_head.', 'bbox_head.'), 'an mmdet detector', 'mmdet',
     ''),
    (('incre_modules.', 'downsamp_modules.', 'classifier.'),
     'a timm / official HRNet-Image-Classification checkpoint', 'timm',
     'or load it as it is as the backbone init_cfg '
     '(hrseg_plugin.CheckedPretrained)'),
)


def foreign_hint(foreign: List[str], origin: str) -> str:
    """Say which converter the keys another one refused belong to.

    Args:
        foreign (list[str]): The keys the ``origin`` converter does not
            take.
        origin (str): The refusing converter's ``--from`` name.

    Returns:
        str: ``'(this looks like <what>: use --from <name>)'`` on a new line
        for the first layout of :data:`KNOWN_LAYOUTS` the keys match, a
        note on a wrapper prefix (``module.``), or ``''``.
    """
    for prefixes, what, name, also in KNOWN_LAYOUTS:
        if name != origin and any(k.startswith(prefixes) for k in foreign):
            also = f', {also}' if also else ''
            return f'\n  (this looks like {what}: use --from {name}{also})'
    if any(k.startswith(('module.', 'model.')) for k in foreign):
        return ("\n  (keys carry a wrapper prefix such as 'module.'; "
                f'--from {origin} strips nothing)')
    return ''


def refuse_foreign_keys(state_dict: Dict[str, torch.Tensor],
                        prefixes: Tuple[str, ...],
                        what: str,
                        origin: str) -> None:
    """Refuse a state dict with keys outside ``prefixes``, naming them.

    Args:
        state_dict (dict[str, Tensor]): The input weights.
        prefixes (tuple[str]): The top-level components the model has, each
            ending in ``'.'`` (``('backbone.', 'neck.', 'head.')``).
        what (str): The model the input should hold, for the message
            (``'an mmpose pose-estimator'``).
        origin (str): The refusing converter's ``--from`` name; the message
            ends with :func:`foreign_hint`.

    Raises:
        ConversionError: ``refusing: not <what> state dict; keys outside
            <prefixes> (<n>):``, the keys and the hint.
    """
    foreign = [k for k in state_dict if not k.startswith(prefixes)]
    if foreign:
        raise ConversionError(
            f'refusing: not {what} state dict; keys outside '
            f'{"/".join(p[:-1] for p in prefixes)} '
            f'({len(foreign)}):\n{format_keys(foreign)}'
            f'{foreign_hint(foreign, origin)}')


def copy_validated(state_dict: Dict[str, torch.Tensor],
                   source_meta: dict,
                   container: str,
                   origin: str,
                   recognised: dict,
                   progress: bool = False,
                   renames: Sequence[Tuple[str, str]] = ()
                   ) -> ConversionResult:
    """Copy validated weights (keys renamed, if asked) and record where
    they came from.

    Args:
        state_dict (dict[str, Tensor]): The validated input weights.
        source_meta (dict): The input checkpoint's ``meta``; kept.
        container (str): Where the state dict was found
            (:func:`extract_state_dict`).
        origin (str): The converter's ``--from`` name.
        recognised (dict): What the validation found (architecture per
            component), stored as ``meta['recognised']``.
        progress (bool): Show a tqdm progress bar over the keys.
        renames (Sequence[tuple[str, str]]): ``(pattern, replacement)``
            regular-expression pairs; the first that matches a key renames
            it (:func:`hrseg_plugin.converters._keys.rename_key`).

    Returns:
        ConversionResult: The same tensors under their (renamed) keys, in
        order; ``meta`` is ``source_meta`` plus ``origin``,
        ``source_container`` and ``recognised``.
    """
    from tqdm import tqdm
    out = OrderedDict()
    for key in tqdm(state_dict, desc=f'converting ({origin})', unit='key',
                    disable=not progress, leave=False):
        out[rename_key(key, renames)] = state_dict[key]
    meta = dict(source_meta)
    meta.update(
        origin=origin, source_container=container, recognised=recognised)
    return ConversionResult(out, meta)
