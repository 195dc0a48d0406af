"""Input check shared by the HRNet representation necks."""
from typing import Sequence

import torch

from hrseg_plugin.errors import ModelConfigError


def check_branch_inputs(inputs: Sequence[torch.Tensor],
                        in_channels: Sequence[int], owner: str) -> None:
    """Check that ``inputs`` are the HRNet branches ``in_channels`` names.

    Args:
        inputs (Sequence[Tensor]): Branch features, highest resolution
            first, each (N, C_i, H_i, W_i).
        in_channels (Sequence[int]): The channels the neck was built for.
        owner (str): Class name for the error message.

    Raises:
        ModelConfigError: The number of branches or their channels differ
            (a ValueError).
    """
    got = [int(x.shape[1]) for x in inputs]
    if got != list(in_channels):
        raise ModelConfigError(
            f'{owner}: built for branches with channels '
            f'{list(in_channels)}, got {got}; set model.neck.in_channels='
            f'{got}')
