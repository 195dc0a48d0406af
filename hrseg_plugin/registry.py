"""The registry of hrseg_plugin.

All modules of this package live in one child registry of mmengine's root
``MODELS`` with the scope ``hrseg_plugin``. Configs name them with the scope
prefix, e.g. ``type='hrseg_plugin.HRNet'``: mmengine finds them from mmseg's,
mmdet's and mmcv's registries (``build_plugin_layer`` included) through the
root, and the prefixed names never clash with stock ``HRNet``, ``OCRHead`` or
``HRFPN``. Stock modules keep their plain names (``type='FCNHead'``) and are
resolved in the config's ``default_scope`` as usual.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='hrseg_plugin',
    locations=['hrseg_plugin.models'])

METRICS = Registry(
    'metric',
    parent=MMENGINE_METRICS,
    scope='hrseg_plugin',
    locations=['hrseg_plugin.evaluation'])

# Training hooks (``type='hrseg_plugin.AtomicCheckpointHook'``, ...).
HOOKS = Registry(
    'hook',
    parent=MMENGINE_HOOKS,
    scope='hrseg_plugin',
    locations=['hrseg_plugin.engine'])

# Data transforms (``type='hrseg_plugin.CheckSegLabels'``, ...).
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    scope='hrseg_plugin',
    locations=['hrseg_plugin.datasets'])

# Weight initializers (``init_cfg=dict(type='hrseg_plugin.CheckedPretrained',
# ...)``).
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMENGINE_WEIGHT_INITIALIZERS,
    scope='hrseg_plugin',
    locations=['hrseg_plugin.engine'])
