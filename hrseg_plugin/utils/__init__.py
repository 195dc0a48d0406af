from .compare import max_rel_error
from .random_weights import calibrate_norms_, randomize_
from .safe_checkpoints import (allow_mmengine_checkpoints,
                               mmengine_checkpoint_globals)

__all__ = [
    'allow_mmengine_checkpoints', 'calibrate_norms_', 'max_rel_error',
    'mmengine_checkpoint_globals', 'randomize_'
]
