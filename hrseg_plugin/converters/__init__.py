"""Checkpoint converters: third-party weights -> hrseg_plugin state dicts.

``tools/convert_weights.py`` is the command line (:mod:`.cli`). One module
per origin (``hrnet_official.py``, ``mmseg.py``, ``mmdet.py``,
``mmpose.py``, ``mmpretrain.py``, ``timm.py``, ``bisenet_coincheung.py``)
registers a converter function with :func:`register_converter`
(:mod:`.registry`, which says what a converter is); every public module of
this package is imported the first time a converter is looked up, so adding
an origin is adding a file. The shared checks are in :mod:`.checks`, the
files in :mod:`.files`; modules whose name starts with ``_`` are helpers of
the converters.
"""
from hrseg_plugin.utils.config import build_model_from_config
from hrseg_plugin.utils.state_dicts import compare_state_dicts, format_keys
from .checks import (check_state_dict_against_config,
                     check_state_dict_against_model, extract_state_dict,
                     raise_on_differences)
from .files import (conversion_meta, file_sha256, load_checkpoint_file,
                    save_checkpoint)
from .registry import (KNOWN_ORIGINS, ConversionError, ConversionResult,
                       available_origins, convert_checkpoint, get_converter,
                       register_converter)

__all__ = [
    'KNOWN_ORIGINS', 'ConversionError', 'ConversionResult',
    'register_converter', 'get_converter', 'available_origins',
    'convert_checkpoint', 'load_checkpoint_file', 'extract_state_dict',
    'save_checkpoint', 'compare_state_dicts', 'check_state_dict_against_model',
    'build_model_from_config', 'check_state_dict_against_config',
    'format_keys', 'raise_on_differences', 'conversion_meta', 'file_sha256'
]
