"""Checkpoints the tools load: which objects they may hold (see
:data:`hrseg_plugin.apis.cli.CHECKPOINT_TRUST_HELP`), whether their
weights fit the config's model, and which checkpoint of a work dir a
resume can use."""
import logging
import os.path as osp
from typing import Optional

from hrseg_plugin.utils.checkpoint_io import (find_checkpoints,
                                              load_checkpoint_file)
from hrseg_plugin.utils.state_dicts import (compare_state_dicts,
                                            describe_key_differences,
                                            key_shapes, strip_prefix)
from .cli import ToolError, log_message

#: Where the model's own layers end and the task's heads begin: a
#: ``load_from`` checkpoint may differ in the heads (fine-tuning to other
#: classes), not in these.
TRUNK_PREFIXES = ('backbone.', 'neck.')


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load``'s weights-only default read mmengine's checkpoints
    (:mod:`hrseg_plugin.utils.safe_checkpoints`, also done by ``import
    hrseg_plugin``), for stock configs too, whose ``custom_imports`` do not
    import hrseg_plugin."""
    from hrseg_plugin.utils.safe_checkpoints import \
        allow_mmengine_checkpoints as allow
    allow()


def _state_dict(checkpoint: str, hint: str = ''):
    ckpt = load_checkpoint_file(checkpoint, error=ToolError, hint=hint)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ToolError(f'{checkpoint} is not a checkpoint: it holds a '
                        f'{type(ckpt).__name__}, not a state dict{hint}')
    return strip_prefix(state)


def check_checkpoint_fits(checkpoint: str, model,
                          allow_head_changes: bool = False,
                          hint: str = '') -> None:
    """Refuse a checkpoint whose weights do not fit ``model``: the init
    functions and mmengine's ``load_from`` load non-strictly, so a
    checkpoint of another model would leave part of it random, with a
    warning lost in the log. Raises :class:`ToolError` naming the file and
    the missing, unexpected and shape-mismatched keys (a file that is not a
    checkpoint, or is truncated, is named too).

    Args:
        checkpoint (str): The file.
        model: The built model.
        allow_head_changes (bool): Fine-tuning (``load_from`` in training):
            keys outside the backbone and neck may be missing or of another
            shape (another number of classes); they are logged as a
            warning and keep their initialisation.
        hint (str): Appended to the message when the file cannot be read.
    """
    state = _state_dict(checkpoint, hint)
    missing, unexpected, mismatched = compare_state_dicts(
        state, key_shapes(model))
    if allow_head_changes:
        trunk = [k for k in missing + [m.split(':')[0] for m in mismatched]
                 if k.startswith(TRUNK_PREFIXES)]
        if not trunk:
            heads = describe_key_differences(
                f'load_from={checkpoint}: keys of the heads that keep their '
                'initialisation', missing, [], mismatched)
            if heads:
                log_message(heads + '\n  (fine-tuning to other classes '
                            'does this; anything else: check load_from)',
                            logging.WARNING)
            return
    message = describe_key_differences(
        f'{checkpoint} does not fit the config\'s model',
        missing, unexpected, mismatched,
        hint='is it a checkpoint of another config? For a stock mmseg '
        '/ mmdet or official checkpoint, convert it first '
        '(tools/convert_weights.py)')
    if message:
        raise ToolError(message)


def last_intact_checkpoint(folder: str,
                           skip: Optional[str] = None) -> Optional[str]:
    """The newest ``iter_*.pth`` / ``epoch_*.pth`` of ``folder`` that loads
    (``skip`` excepted), or None."""
    for path in find_checkpoints(folder):
        if skip and osp.abspath(path) == osp.abspath(skip):
            continue
        try:
            load_checkpoint_file(path)
        except ValueError:
            continue
        return path
    return None


def _resume_hint(work_dir: str, bad: str) -> str:
    intact = last_intact_checkpoint(work_dir, skip=bad)
    if intact:
        return (f'; the last intact checkpoint of {work_dir} is {intact}: '
                f'resume from it with --resume {intact}')
    return (f'; {work_dir} has no other intact checkpoint: train from '
            'scratch (without --resume)')


def resume_checkpoint(cfg) -> Optional[str]:
    """The checkpoint a resuming run will load: ``load_from``, else the
    file ``<work_dir>/last_checkpoint`` names (None when there is none).

    Raises:
        ToolError: ``last_checkpoint`` names a file that does not exist;
            the message names the last intact checkpoint to resume from.
    """
    if cfg.get('load_from', None):
        return cfg.load_from
    record = osp.join(cfg.work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        path = f.read().strip()
    if path and '://' not in path and not osp.isfile(path):
        raise ToolError(
            f'--resume: {record} names {path}, which does not exist '
            f'(deleted or moved?){_resume_hint(cfg.work_dir, path)}')
    return path or None


def check_training_checkpoint(cfg, model) -> None:
    """Before training: the checkpoint a resume loads (``--resume``, auto
    or a file) must be readable and of this model; a ``load_from``
    checkpoint must fit the backbone and neck (:func:`check_checkpoint_fits`
    with ``allow_head_changes``)."""
    if cfg.get('resume', False):
        path = resume_checkpoint(cfg)
        if path and '://' not in path:
            check_checkpoint_fits(
                path, model, hint=_resume_hint(cfg.work_dir, path))
    elif cfg.get('load_from', None) and '://' not in cfg.load_from:
        check_checkpoint_fits(cfg.load_from, model, allow_head_changes=True)
