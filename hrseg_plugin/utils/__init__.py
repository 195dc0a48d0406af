"""Helpers used by several packages of hrseg_plugin (one of each):

* :mod:`.state_dicts`: strip a ``module.`` prefix, a module's key -> shape
  layout, compare a state dict against one, the message naming the
  missing / unexpected / shape-mismatched keys;
* :mod:`.checkpoint_io`: load a checkpoint file on the CPU, write a file
  atomically (temporary file, fsync, ``os.replace``);
* :mod:`.config`: load a config (``mmseg::`` paths, ``--cfg-options``),
  its ``custom_imports`` and ``default_scope``, build its model;
* :mod:`.safe_checkpoints`: what torch's weights-only loading may read
  from mmengine's checkpoints;
* :mod:`.compare`, :mod:`.random_weights`: comparing outputs, random
  weights for those comparisons;
* :mod:`.timing`: the median wall time of a call (the benchmark tools).
"""
from .checkpoint_io import atomic_save_file, load_checkpoint_file
from .compare import max_rel_error
from .config import (build_model_from_config, init_config_scope,
                     load_config, resolve_config_path)
from .random_weights import calibrate_norms_, randomize_
from .safe_checkpoints import (allow_mmengine_checkpoints,
                               mmengine_checkpoint_globals)
from .state_dicts import (compare_state_dicts, describe_key_differences,
                          format_keys, key_shapes, strip_prefix)
from .timing import median_seconds

__all__ = [
    'allow_mmengine_checkpoints', 'atomic_save_file',
    'build_model_from_config', 'calibrate_norms_', 'compare_state_dicts',
    'describe_key_differences', 'format_keys', 'init_config_scope',
    'key_shapes', 'load_checkpoint_file', 'load_config', 'max_rel_error',
    'median_seconds', 'mmengine_checkpoint_globals', 'randomize_',
    'resolve_config_path', 'strip_prefix'
]
