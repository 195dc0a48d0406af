"""Soft object regions -> object representations (OCR's gather step)."""
import torch
import torch.nn as nn


class SpatialGather(nn.Module):
    """Aggregate pixel features into one representation per class,
    weighting pixels by the softmax (over the image) of the coarse class
    scores: Yuan et al., "Object-Contextual Representations for Semantic
    Segmentation" (ECCV 2020), Eq. (2).

    Args:
        scale (float): Temperature multiplied onto the scores before the
            softmax. Default: 1.
    """

    def __init__(self, scale: float = 1.):
        super().__init__()
        self.scale = scale

    def forward(self, feats: torch.Tensor,
                probs: torch.Tensor) -> torch.Tensor:
        """Gather.

        Args:
            feats (Tensor): Pixel features, (N, C, H, W).
            probs (Tensor): Coarse class scores, (N, K, H, W).

        Returns:
            Tensor: Object region features, (N, C, K, 1).
        """
        weights = torch.softmax(self.scale * probs.flatten(2), dim=2)
        # (N, C, HW) @ (N, HW, K): the result is already (N, C, K), so no
        # permute + contiguous copy is needed
        return torch.bmm(feats.flatten(2), weights.transpose(1, 2)) \
            .unsqueeze(3)
