from .enable import enable_speedups, with_speedups
from .folding import (ConvNormPair, can_fold, effective_conv_params,
                      enable_folding, eval_folding, find_conv_norm_pairs,
                      fold_conv_norm, folding_pairs, pair_of)
from .memory_format import set_memory_layout

__all__ = [
    'ConvNormPair', 'can_fold', 'effective_conv_params', 'enable_folding',
    'enable_speedups', 'eval_folding', 'find_conv_norm_pairs',
    'fold_conv_norm', 'folding_pairs', 'pair_of', 'set_memory_layout',
    'with_speedups'
]
