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
"""
import logging
import re
from typing import Sequence

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
        from mmengine.runner.checkpoint import (_load_checkpoint,
                                                _load_checkpoint_with_prefix)
        if self.prefix is not None:
            sd = _load_checkpoint_with_prefix(self.prefix, self.checkpoint,
                                              self.map_location)
        else:
            ckpt = _load_checkpoint(self.checkpoint, self.map_location)
            if not isinstance(ckpt, dict):
                raise ValueError(f'{self.checkpoint} holds a '
                                 f'{type(ckpt).__name__}, not a state dict')
            sd = ckpt.get('state_dict', ckpt)
        return strip_prefix(sd)

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
            raise ValueError(describe_key_differences(
                f'{type(module).__name__}: refusing to load {where}: it is '
                'not a checkpoint of this model',
                missing, unexpected, mismatched, total=len(own),
                hint='Check the architecture (arch / extra / depth / '
                'widths) against the checkpoint, convert foreign checkpoints '
                'with tools/convert_weights.py, or list keys that may stay '
                'untrained in allow_missing'))
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
