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



def _child_registry(name: str, parent: Registry, location: str) -> Registry:
    """A child of mmengine's ``parent`` in the ``hrseg_plugin`` scope.

    Args:
        name (str): The registry's name.
        parent (Registry): mmengine's root registry of that kind.
        location (str): The subpackage imported when the registry is first
            searched, which registers its modules.

    Returns:
        Registry: The child registry.
    """
    return Registry(
        name, parent=parent, scope='hrseg_plugin', locations=[location])


MODELS = _child_registry('model', MMENGINE_MODELS, 'hrseg_plugin.models')
METRICS = _child_registry('metric', MMENGINE_METRICS,
                          'hrseg_plugin.evaluation')
# Training hooks (``type='hrseg_plugin.AtomicCheckpointHook'``, ...).
HOOKS = _child_registry('hook', MMENGINE_HOOKS, 'hrseg_plugin.engine')
# Data transforms (``type='hrseg_plugin.CheckSegLabels'``, ...).
TRANSFORMS = _child_registry('transform', MMENGINE_TRANSFORMS,
                             'hrseg_plugin.datasets')
# Weight initializers (``init_cfg=dict(type='hrseg_plugin.CheckedPretrained',
# ...)``).
WEIGHT_INITIALIZERS = _child_registry('weight initializer',
                                      MMENGINE_WEIGHT_INITIALIZERS,
                                      'hrseg_plugin.engine')
