"""``init_cfg=dict(type='hrseg_plugin.CheckedPretrained', checkpoint=...)``:
pretrained loading that refuses the checkpoint of another model.

mmengine's ``Pretrained`` loads with ``strict=False``: a checkpoint of the
wrong width or of another network loads the few keys that fit, logs the
rest among hundreds of info lines, and training starts from a half-random
model. This initializer compares the checkpoint with the module first and
raises a ValueError that lists, by name, the module's keys the checkpoint
misses and the keys whose shapes differ. Keys the module does not have
(an ImageNet classifier, ``incre_modules`` ...) are allowed and logged by
name as a warning.

With ``prefix`` (e.g. ``'backbone.'``) only the keys under it are compared
and loaded; the checkpoint's other keys are skipped and logged, grouped by
module. That is how a converted classification checkpoint
(``tools/convert_weights.py --from timm`` / ``--from mmpretrain``:
``backbone.*``, ``neck.0.*``, ``head.fc.*``) initialises the HRNet backbone
of a segmentation, detection or pose config::

    init_cfg=dict(type='hrseg_plugin.CheckedPretrained',
                  checkpoint='hrnet_w18_in1k.pth', prefix='backbone.')
"""
import logging
import re
from collections import Counter
from typing import Dict, Sequence

from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info

from hrseg_plugin.registry import WEIGHT_INITIALIZERS
from hrseg_plugin.utils.state_dicts import (compare_state_dicts,
                                            describe_key_differences,
                                            format_keys, key_shapes,
                                            strip_prefix)


@WEIGHT_INITIALIZERS.register_module(name='CheckedPretrained')
class CheckedPretrainedInit(PretrainedInit):
    """mmengine's ``Pretrained`` with a key / shape check before loading.

    Args:
        checkpoint (str): Checkpoint file or URL.
        prefix (str, optional): Load only the keys under this prefix (e.g.
            ``'backbone.'``), as mmengine's ``Pretrained``.
        map_location (str): Defaults to ``'cpu'``.
        allow_missing (Sequence[str]): Regular expressions of module keys
            that may be absent from the checkpoint (they keep their
            initialization). ``num_batches_tracked`` is always allowed.
    """

    def __init__(self, checkpoint, prefix=None, map_location='cpu',
                 allow_missing: Sequence[str] = ()):
        super().__init__(checkpoint, prefix, map_location)
        self.allow_missing = [re.compile(p) for p in allow_missing]

    def _state_dict(self):
        from mmengine.runner.checkpoint import _load_checkpoint
        ckpt = _load_checkpoint(self.checkpoint, self.map_location)
        if not isinstance(ckpt, dict):
            raise ValueError(f'{self.checkpoint} holds a '
                             f'{type(ckpt).__name__}, not a state dict')
        sd = strip_prefix(ckpt.get('state_dict', ckpt))
        if self.prefix is None:
            return sd
        inside = {k[len(self.prefix):]: v for k, v in sd.items()
                  if k.startswith(self.prefix)}
        if not inside:
            raise ValueError(
                f'refusing to load {self.checkpoint}: no key starts with '
                f'prefix {self.prefix!r}; its keys start with '
                f'{sorted(_groups(sd, 1))}')
        skipped = [k for k in sd if not k.startswith(self.prefix)]
        if skipped:
            groups = ', '.join(f'{g}* ({n})'
                               for g, n in _groups(skipped, 2).items())
            print_log(
                f'{self.checkpoint}: {len(skipped)} keys outside prefix '
                f'{self.prefix!r} skipped: {groups}',
                logger='current', level=logging.WARNING)
        return inside

    def __call__(self, module):
        sd = self._state_dict()
        own = key_shapes(module)
        missing, unexpected, mismatched = compare_state_dicts(sd, own)
        missing = [
            k for k in missing if not k.endswith('num_batches_tracked')
            and not any(p.search(k) for p in self.allow_missing)
        ]
        where = self.checkpoint + (f' (prefix {self.prefix!r})'
                                   if self.prefix else '')
        if missing or mismatched:
            hint = ('Check the architecture (arch / extra / depth / '
                    'widths) against the checkpoint, convert foreign '
                    'checkpoints with tools/convert_weights.py, or list keys '
                    'that may stay untrained in allow_missing')
            if self.prefix is None and any(
                    k.startswith('backbone.') for k in sd):
                hint = ("The checkpoint's keys start with 'backbone.' (a "
                        'whole model, e.g. a converted classifier): set '
                        "prefix='backbone.' to load its backbone\n  " + hint)
            raise ValueError(describe_key_differences(
                f'{type(module).__name__}: refusing to load {where}: it is '
                'not a checkpoint of this model',
                missing, unexpected, mismatched, total=len(own), hint=hint))
        if unexpected:
            print_log(
                f'{type(module).__name__}: {where}: {len(unexpected)} '
                f'unexpected keys not used:\n{format_keys(unexpected)}',
                logger='current', level=logging.WARNING)
        used = {k: v for k, v in sd.items() if k in own}
        module.load_state_dict(used, strict=False)
        print_log(f'loaded {where}: {len(used)} of {len(own)} keys',
                  logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())


def _groups(keys, depth: int) -> Dict[str, int]:
    """How many keys share each of their first ``depth`` dotted parts
    (``'neck.0.'``: 123), in order of appearance."""
    return dict(Counter(
        '.'.join(k.split('.')[:depth]) + '.' for k in keys))
