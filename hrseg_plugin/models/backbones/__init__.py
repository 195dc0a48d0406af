from .bisenet import BiSeNet
from .hrnet import HRNet
from .xception39 import Xception39

__all__ = ['BiSeNet', 'Xception39', 'HRNet']
