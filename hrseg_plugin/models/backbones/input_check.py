"""The input check of the backbones' ``forward``: a wrong channel count or
an image smaller than the network's total stride is a clear ValueError
instead of a shape error deep inside a conv, or a BatchNorm error on a 1x1
feature map."""
import torch


def check_image_input(x: torch.Tensor, in_channels: int, total_stride: int,
                      name: str) -> None:
    """Raise a ValueError unless ``x`` is (N, in_channels, H, W) with H and
    W at least ``total_stride``."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x)
        raise ValueError(f'{name}: expected a batch of images (N, C, H, W), '
                         f'got {shape}')
    if x.shape[1] != in_channels:
        raise ValueError(
            f'{name}: the input has {x.shape[1]} channels but the backbone '
            f'was built with in_channels={in_channels}; give '
            f'{in_channels}-channel images (e.g. LoadImageFromFile with '
            "color_type='color' turns grayscale / RGBA files into 3 "
            'channels) or build the backbone with the matching in_channels')
    h, w = int(x.shape[2]), int(x.shape[3])
    if h < total_stride or w < total_stride:
        raise ValueError(
            f'{name}: the input is {h}x{w} (HxW) but each side must be at '
            f'least {total_stride} pixels, the total stride of the network; '
            'resize or pad the image (e.g. Resize / RandomCrop / the data '
            'preprocessor\'s size or size_divisor)')
