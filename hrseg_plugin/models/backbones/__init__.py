from .bisenet import BiSeNet
from .hrnet import HRNet
from .resnet import ResNet, ResNetV1c
from .xception39 import Xception39

__all__ = ['BiSeNet', 'Xception39', 'HRNet', 'ResNet', 'ResNetV1c']
