from .enable import enable_speedups, with_speedups
from .folding import (ConvNormPair, can_fold, effective_conv_params,
                      enable_folding, eval_folding, find_conv_norm_pairs,
                      fold_conv_norm, folding_pairs, pair_of)
from .memory_format import set_memory_layout
from .seg_loss import (enable_fast_seg_loss, fast_loss_by_feat,
                       upsampled_cross_entropy)

__all__ = [
    'ConvNormPair', 'can_fold', 'effective_conv_params',
    'enable_fast_seg_loss', 'enable_folding', 'enable_speedups',
    'eval_folding', 'fast_loss_by_feat', 'find_conv_norm_pairs',
    'fold_conv_norm', 'folding_pairs', 'pair_of', 'set_memory_layout',
    'upsampled_cross_entropy', 'with_speedups'
]
