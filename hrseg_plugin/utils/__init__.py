from .compare import max_rel_error
from .random_weights import calibrate_norms_, randomize_

__all__ = ['calibrate_norms_', 'max_rel_error', 'randomize_']
