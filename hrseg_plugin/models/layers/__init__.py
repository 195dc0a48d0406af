from .attention_refinement import AttentionRefinementModule
from .channel_attention import ChannelAttention
from .context_path import ContextPath
from .hr_fuse_layer import HRFuseLayer
from .hr_module import HRModule
from .hr_transition_layer import HRTransitionLayer
from .mixed_pooling import MPM
from .pixel_shuffle_conv import PixelShuffleConv2d
from .plugin_basic_block import PluginBasicBlock
from .resize_to import check_upsample_cfg, resize_to
from .sk_conv import SKConv
from .spatial_path import SPATIAL_PATH_VARIANTS, SpatialPath
from .strip_pooling import SPM

__all__ = [
    'AttentionRefinementModule', 'ChannelAttention', 'ContextPath',
    'PixelShuffleConv2d', 'SPATIAL_PATH_VARIANTS', 'SpatialPath',
    'MPM', 'PluginBasicBlock', 'SKConv', 'SPM',
    'HRFuseLayer', 'HRModule', 'HRTransitionLayer', 'check_upsample_cfg',
    'resize_to'
]
