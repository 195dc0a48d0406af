"""HRNet presets: the stage configs of every published width, as data.

Widths W18..W64 share one layout (Wang et al., "Deep High-Resolution
Representation Learning for Visual Recognition", TPAMI 2020, Table 1 and the
official HRNet-Image-Classification configs); the two small variants are
those of the official segmentation repo (``w18_small_v1``) and of mmseg's
``hrnetv2_w18_small`` (``w18_small_v2``).
"""

BLOCK_NAMES = ('BASIC', 'BOTTLENECK')
STAGE_KEYS = ('num_modules', 'num_branches', 'block', 'num_blocks',
              'num_channels')


def _stage(num_modules, block, num_blocks, num_channels):
    return dict(
        num_modules=num_modules,
        num_branches=len(num_blocks),
        block=block,
        num_blocks=tuple(num_blocks),
        num_channels=tuple(num_channels))


def _width(c):
    """The standard HRNet-Wc stages."""
    return dict(
        stage1=_stage(1, 'BOTTLENECK', (4, ), (64, )),
        stage2=_stage(1, 'BASIC', (4, 4), (c, 2 * c)),
        stage3=_stage(4, 'BASIC', (4, 4, 4), (c, 2 * c, 4 * c)),
        stage4=_stage(3, 'BASIC', (4, 4, 4, 4), (c, 2 * c, 4 * c, 8 * c)))


ARCH_SETTINGS = {
    'w18_small_v1':
    dict(
        stage1=_stage(1, 'BOTTLENECK', (1, ), (32, )),
        stage2=_stage(1, 'BASIC', (2, 2), (16, 32)),
        stage3=_stage(1, 'BASIC', (2, 2, 2), (16, 32, 64)),
        stage4=_stage(1, 'BASIC', (2, 2, 2, 2), (16, 32, 64, 128))),
    'w18_small_v2':
    dict(
        stage1=_stage(1, 'BOTTLENECK', (2, ), (64, )),
        stage2=_stage(1, 'BASIC', (2, 2), (18, 36)),
        stage3=_stage(3, 'BASIC', (2, 2, 2), (18, 36, 72)),
        stage4=_stage(2, 'BASIC', (2, 2, 2, 2), (18, 36, 72, 144))),
    **{f'w{c}': _width(c)
       for c in (18, 30, 32, 40, 44, 48, 64)},
}


def check_extra(extra: dict) -> None:
    """Check an HRNet ``extra`` dict and raise a ValueError that names the
    field, its value and what is expected.

    Args:
        extra (dict): ``stage1`` .. ``stage4`` dicts with the keys
            ``num_modules``, ``num_branches``, ``block``, ``num_blocks``
            and ``num_channels``.
    """
    if not isinstance(extra, dict):
        raise TypeError(f'HRNet: extra must be a dict of stage1..stage4 '
                        f'configs, got {type(extra).__name__}')
    prev_branches = 0
    for k in range(1, 5):
        name = f'stage{k}'
        if name not in extra:
            raise ValueError(f"HRNet: extra has no '{name}'; an HRNet needs "
                             'stage1, stage2, stage3 and stage4')
        cfg = extra[name]
        missing = [key for key in STAGE_KEYS if key not in cfg]
        if missing:
            raise ValueError(f"HRNet: extra['{name}'] misses {missing}; each "
                             f'stage needs {list(STAGE_KEYS)}')
        if cfg['block'] not in BLOCK_NAMES:
            raise ValueError(f"HRNet: extra['{name}']['block']="
                             f"{cfg['block']!r} is not a known block; "
                             f'expected one of {BLOCK_NAMES}')
        n = cfg['num_branches']
        for key in ('num_blocks', 'num_channels'):
            if len(cfg[key]) != n:
                raise ValueError(
                    f"HRNet: extra['{name}']['{key}']={tuple(cfg[key])} has "
                    f'{len(cfg[key])} entries but num_branches is {n}; give '
                    'one value per branch')
        if cfg['num_modules'] < 1:
            raise ValueError(f"HRNet: extra['{name}']['num_modules'] must "
                             f"be >= 1, got {cfg['num_modules']}")
        if k == 1 and n != 1:
            raise ValueError("HRNet: extra['stage1']['num_branches'] must be "
                             f'1 (the stem has one resolution), got {n}')
        if n < prev_branches:
            raise ValueError(f"HRNet: extra['{name}']['num_branches']={n} is "
                             f'fewer than the previous stage\'s '
                             f'{prev_branches}; stages only add branches')
        prev_branches = n
