from .random_weights import randomize_

__all__ = ['randomize_']
