"""hrseg_plugin: high-resolution and real-time segmentation models for
MMSegmentation and MMDetection.

Add ``custom_imports = dict(imports=['hrseg_plugin'],
allow_failed_imports=False)`` to a config and refer to the modules with the
scope prefix, e.g. ``type='hrseg_plugin.HRNet'``.
"""
from . import datasets, engine, evaluation, models  # noqa: F401  (registers)
from .registry import HOOKS, METRICS, MODELS, TRANSFORMS
from .utils.safe_checkpoints import allow_mmengine_checkpoints

# stock tools and APIs (test.py, MMSegInferencer, init_model, DetInferencer,
# resume) load mmengine checkpoints with torch.load's weights-only default:
# allow exactly the objects mmengine writes into them
allow_mmengine_checkpoints()

__version__ = '0.1.0'
__all__ = ['HOOKS', 'METRICS', 'MODELS', 'TRANSFORMS', '__version__']
