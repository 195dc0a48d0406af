"""The input check of the backbones' ``forward``: a wrong channel count or
an empty image is a clear error instead of a shape error deep inside a
conv.

Any image of at least one pixel per side is accepted, as stock mmseg
accepts it: the stride-2 convs, poolings and resizes of HRNet and BiSeNet
compute on feature maps down to 1x1, and the outputs have the input's size
(``tests/test_reliability.py``). What cannot be computed is refused by
torch itself and reported by the tools in one line: a BatchNorm in training
fed one value per channel (a batch of one image whose feature map shrank to
1x1, or BiSeNet's global-context branch with a batch of one).
"""
import torch

from hrseg_plugin.errors import DataError


def check_image_input(x: torch.Tensor, in_channels: int, name: str) -> None:
    """Raise a :class:`~hrseg_plugin.errors.DataError` (a ValueError)
    unless ``x`` is (N, in_channels, H, W) with H, W >= 1."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x)
        raise DataError(f'{name}: expected a batch of images (N, C, H, W), '
                        f'got {shape}')
    if x.shape[1] != in_channels:
        raise DataError(
            f'{name}: the input has {x.shape[1]} channels but the backbone '
            f'was built with in_channels={in_channels}; give '
            f'{in_channels}-channel images (e.g. LoadImageFromFile with '
            "color_type='color' turns grayscale / RGBA files into 3 "
            'channels) or build the backbone with the matching in_channels')
    h, w = int(x.shape[2]), int(x.shape[3])
    if h < 1 or w < 1:
        raise DataError(
            f'{name}: the input is {h}x{w} (HxW): an empty image cannot be '
            'computed; check the Resize / crop settings that produced it')
