"""hrseg_plugin: high-resolution and real-time segmentation models for
MMSegmentation and MMDetection.

Add ``custom_imports = dict(imports=['hrseg_plugin'],
allow_failed_imports=False)`` to a config and refer to the modules with the
scope prefix, e.g. ``type='hrseg_plugin.HRNet'``.

Importing the package is light (mmengine and torch): the registries of
:mod:`hrseg_plugin.registry` name the subpackages that fill them
(``locations``), and mmengine imports those the first time it looks a
``hrseg_plugin.X`` name up, so models, hooks, transforms and metrics
register on first use, from mmseg's, mmdet's, mmcv's and mmengine's
registries alike (``tests/test_registry.py``). Tools and the demo-data
generator therefore start without importing mmseg / mmdet.
"""
from .registry import (HOOKS, METRICS, MODELS, TRANSFORMS,
                       WEIGHT_INITIALIZERS)
from .utils.safe_checkpoints import allow_mmengine_checkpoints

# stock tools and APIs (test.py, MMSegInferencer, init_model, DetInferencer,
# resume) load mmengine checkpoints with torch.load's weights-only default:
# allow exactly the objects mmengine writes into them
allow_mmengine_checkpoints()

__version__ = '0.1.0'
__all__ = [
    'HOOKS', 'METRICS', 'MODELS', 'TRANSFORMS', 'WEIGHT_INITIALIZERS',
    '__version__'
]
