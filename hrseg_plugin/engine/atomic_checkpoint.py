"""A ``CheckpointHook`` that never leaves a half-written latest checkpoint.

Why a hook subclass and not a patch of the file backend: mmengine writes a
checkpoint with ``LocalBackend.put`` (``open(path, 'wb').write(...)``)
straight to its final name, and the stock ``CheckpointHook`` deletes the
oldest kept checkpoint *before* writing the new one. A SIGKILL during the
write therefore leaves a truncated ``iter_N.pth`` and, with
``max_keep_ckpts=1``, no readable checkpoint at all. Replacing mmengine's
global ``'local'`` backend would change every file write of every library
in the process; the hook is opt-in per config, visible in the config
(``default_hooks.checkpoint.type``) and touches only checkpoint writes.

The hook writes ``.iter_N.pth.tmp-<pid>`` through the runner (so
``before_save_checkpoint`` hooks and the checkpoint contents are exactly
the stock ones), fsyncs it, renames it to ``iter_N.pth`` with
``os.replace`` (atomic on POSIX and Windows;
:func:`hrseg_plugin.utils.atomic_save_file`), then updates
``last_checkpoint`` the same way, and only then removes checkpoints beyond
``max_keep_ckpts``. At every instant ``last_checkpoint`` names a complete
file.
"""
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from hrseg_plugin.registry import HOOKS
from hrseg_plugin.utils.checkpoint_io import atomic_save_file


def _is_local(path: str) -> bool:
    return '://' not in str(path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with crash-safe writes (see the module
    docstring). Same arguments and same files as the stock hook; remote
    ``out_dir`` (``s3://`` ...) falls back to the stock behaviour.

    Use it in a config::

        default_hooks = dict(checkpoint=dict(
            type='hrseg_plugin.AtomicCheckpointHook', by_epoch=False,
            interval=1000, max_keep_ckpts=2))
    """

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """The stock ``save_best`` logic, with the new best checkpoint
        written atomically and the previous best removed only after it:
        the stock hook removes the old best first, so a kill during the
        write would leave no best checkpoint at all."""
        if not (_is_local(self.out_dir) and is_main_process()):
            return super()._save_best_checkpoint(runner, metrics)
        save, backend = runner.save_checkpoint, self.file_backend
        superseded = []

        def save_atomically(out_dir, filename, *args, **kwargs):
            atomic_save_file(
                lambda tmp: save(out_dir, osp.basename(tmp), *args,
                                 **kwargs), osp.join(out_dir, filename))

        # instance attributes shadow the methods for this call only
        runner.save_checkpoint = save_atomically
        backend.remove = superseded.append
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            del runner.save_checkpoint
            del backend.remove
        for path in superseded:
            if osp.isfile(path):
                os.remove(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not _is_local(self.out_dir):
            return super()._save_checkpoint_with_step(runner, step, meta)

        ckpt_filename = self.filename_tmpl.format(step)
        ckpt_path = osp.join(self.out_dir, ckpt_filename)
        self.last_ckpt = ckpt_path
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        stale = []
        if self.max_keep_ckpts > 0 and not (len(self.keep_ckpt_ids) > 0 and
                                            self.keep_ckpt_ids[-1] == step):
            # as the stock hook, but the outdated file is deleted only after
            # the new one is complete
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        os.makedirs(self.out_dir, exist_ok=True)

        def write_ckpt(tmp):
            runner.save_checkpoint(
                self.out_dir,
                osp.basename(tmp),
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)

        if is_main_process():
            atomic_save_file(write_ckpt, ckpt_path)
        else:  # as the stock hook (Runner.save_checkpoint is master-only)
            write_ckpt(ckpt_path)
            return

        def write_last(tmp):
            with open(tmp, 'w') as f:
                f.write(self.last_ckpt)

        atomic_save_file(write_last,
                         osp.join(runner.work_dir, 'last_checkpoint'))

        for old in stale:
            old_path = osp.join(self.out_dir, self.filename_tmpl.format(old))
            if osp.isfile(old_path):
                os.remove(old_path)
            elif osp.isdir(old_path):  # deepspeed saves directories
                import shutil
                shutil.rmtree(old_path)
