from .ffm_head import FFMHead
from .ocr_head import OCRHead
from .pixel_shuffle_fcn_head import PixelShuffleFCNHead
from .strip_pooling_head import StripPoolingHead

__all__ = ['FFMHead', 'OCRHead', 'PixelShuffleFCNHead', 'StripPoolingHead']
