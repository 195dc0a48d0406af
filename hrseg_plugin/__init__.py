"""hrseg_plugin: high-resolution and real-time segmentation models for
MMSegmentation and MMDetection.

Add ``custom_imports = dict(imports=['hrseg_plugin'],
allow_failed_imports=False)`` to a config and refer to the modules with the
scope prefix, e.g. ``type='hrseg_plugin.HRNet'``.
"""
from . import evaluation, models  # noqa: F401  (registers everything)
from .registry import METRICS, MODELS

__version__ = '0.1.0'
__all__ = ['METRICS', 'MODELS', '__version__']
