from .hrfpn import HRFPN
from .hrnet_cls_neck import HRNetClsNeck
from .hrnet_v1_neck import HRNetV1Neck
from .hrnet_v2_neck import HRNetV2Neck

__all__ = ['HRFPN', 'HRNetClsNeck', 'HRNetV1Neck', 'HRNetV2Neck']
