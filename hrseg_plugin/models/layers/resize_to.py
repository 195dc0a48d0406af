"""One interpolation straight to a target size, configured by a dict."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

INTERPOLATION_MODES = ('nearest', 'bilinear', 'bicubic')


def check_upsample_cfg(upsample_cfg: Optional[dict], owner: str) -> dict:
    """Validate an ``upsample_cfg`` and return the kwargs for
    :func:`torch.nn.functional.interpolate`.

    Args:
        upsample_cfg (dict | None): ``dict(mode=..., align_corners=...)``.
            ``mode`` is one of ``'nearest'``, ``'bilinear'``, ``'bicubic'``;
            ``align_corners`` (bool) is allowed only for the interpolating
            modes. None means ``dict(mode='bilinear', align_corners=False)``.
        owner (str): Name used in error messages, e.g. ``'HRNet'``.

    Returns:
        dict: ``mode`` and ``align_corners`` (None for ``'nearest'``).
    """
    cfg = dict(mode='bilinear', align_corners=False)
    if upsample_cfg is not None:
        if not isinstance(upsample_cfg, dict):
            raise TypeError(f'{owner}: upsample_cfg must be a dict such as '
                            "dict(mode='bilinear', align_corners=False), got "
                            f'{upsample_cfg!r}')
        unknown = set(upsample_cfg) - {'mode', 'align_corners'}
        if unknown:
            raise ValueError(f'{owner}: upsample_cfg has unknown keys '
                             f'{sorted(unknown)}; allowed: mode, '
                             'align_corners')
        cfg.update(upsample_cfg)
    mode = cfg['mode']
    if mode not in INTERPOLATION_MODES:
        raise ValueError(f"{owner}: upsample_cfg['mode']={mode!r} is not "
                         f'supported; use one of {INTERPOLATION_MODES}')
    if mode == 'nearest':
        if cfg.get('align_corners'):
            raise ValueError(f"{owner}: upsample_cfg['align_corners']=True "
                             "needs an interpolating mode ('bilinear' or "
                             "'bicubic'); nearest has no corners to align")
        cfg['align_corners'] = None
    elif not isinstance(cfg['align_corners'], bool):
        raise TypeError(f"{owner}: upsample_cfg['align_corners'] must be a "
                        f"bool, got {cfg['align_corners']!r}")
    return cfg


def resize_to(x: torch.Tensor, size: Sequence[int], mode: str,
              align_corners: Optional[bool]) -> torch.Tensor:
    """Resize ``x`` to ``size`` in one interpolation; a no-op when the
    size already matches."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    return F.interpolate(
        x, size=tuple(size), mode=mode, align_corners=align_corners)
