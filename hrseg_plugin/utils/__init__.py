from .random_weights import calibrate_norms_, randomize_

__all__ = ['calibrate_norms_', 'randomize_']
