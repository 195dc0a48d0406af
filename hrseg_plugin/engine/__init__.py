"""Training-time reliability: atomic checkpoints, a stop on a non-finite
loss, the model checks before a run (heads' channels and classes), the
total of skipped unreadable images (hooks used by the configs in
``configs/``), the config's learning rate winning on resume (added by
``tools/train.py``), and a pretrained-weight initializer that refuses the
checkpoint of another model."""
from ..utils.checkpoint_io import atomic_save_file
from .atomic_checkpoint import AtomicCheckpointHook, CheckpointWriteError
from .checked_pretrained import CheckedPretrainedInit
from .model_check import (ModelCheckHook, check_model_channels,
                          check_num_classes)
from .non_finite_loss import NonFiniteLossError, NonFiniteLossHook
from .resume_lr import ConfigLRHook
from .skipped_images import SkippedImagesHook

__all__ = [
    'AtomicCheckpointHook', 'atomic_save_file', 'CheckedPretrainedInit',
    'CheckpointWriteError', 'ConfigLRHook', 'ModelCheckHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'SkippedImagesHook',
    'check_model_channels', 'check_num_classes'
]
