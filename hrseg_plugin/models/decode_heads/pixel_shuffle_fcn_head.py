"""FCN head whose classifier upsamples by pixel shuffle."""
from mmseg.models.decode_heads.fcn_head import FCNHead

from hrseg_plugin.registry import MODELS
from ..layers.pixel_shuffle_conv import PixelShuffleConv2d
from ..speedups import enable_speedups


@MODELS.register_module()
class PixelShuffleFCNHead(FCNHead):
    """Stock mmseg ``FCNHead`` with a pixel-shuffle classifier: ``conv_seg``
    predicts ``num_classes * factor**2`` channels that are shuffled to
    ``factor`` times the feature resolution. With ``num_convs=1`` it is
    CoinCheung/BiSeNet's ``BiSeNetOutput(up_factor=factor)`` of September
    2020 to July 2021 (their commits 12cd095 to c0422a1), the auxiliary
    outputs of their BiSeNetV1 in that layout; the mmseg
    ``predict`` / loss resize the scores to the image / label size as usual.

    Args:
        pixel_shuffle_factor (int): Upsampling factor of the classifier.
        **kwargs: ``FCNHead`` arguments.
    """

    def __init__(self, pixel_shuffle_factor: int, **kwargs):
        super().__init__(**kwargs)
        self.conv_seg = PixelShuffleConv2d(self.channels, self.out_channels,
                                           pixel_shuffle_factor)
        enable_speedups(self)
