from .hr_fuse_layer import HRFuseLayer
from .hr_module import HRModule
from .hr_transition_layer import HRTransitionLayer
from .resize_to import check_upsample_cfg, resize_to

__all__ = [
    'HRFuseLayer', 'HRModule', 'HRTransitionLayer', 'check_upsample_cfg',
    'resize_to'
]
