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
file. A write that fails (a full disk) raises a
:class:`CheckpointWriteError` naming the file, the free space and the last
complete checkpoint; the temporary files of a run killed mid-write are
removed when the next run starts training (:meth:`before_train`).
"""
import logging
import os
import os.path as osp
import shutil

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from hrseg_plugin.errors import CheckError
from hrseg_plugin.registry import HOOKS
from hrseg_plugin.utils.checkpoint_io import (atomic_save_file,
                                              stale_tmp_files)


def _is_local(path: str) -> bool:
    return '://' not in str(path)


class CheckpointWriteError(CheckError):
    """A checkpoint could not be written (full disk, quota ...)."""


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

    def before_train(self, runner) -> None:
        """As the stock hook, then remove the temporary files a run killed
        during a checkpoint write left in the checkpoint folder and the
        work dir (their writer, the PID in the name, no longer runs on
        this host); each removal is logged."""
        super().before_train(runner)
        if not is_main_process():
            return
        folders = {runner.work_dir}
        if _is_local(self.out_dir):
            folders.add(self.out_dir)
        for folder in sorted(folders):
            for path in stale_tmp_files(folder):
                os.remove(path)
                print_log(
                    f'removed {path}: the temporary file of a checkpoint '
                    'write that was interrupted (its process no longer '
                    'runs)', logger='current', level=logging.WARNING)

    def _write(self, write, path: str) -> None:
        """:func:`atomic_save_file`, with a failed write (a full disk, a
        quota) reported as one clear error naming the file, the free space
        and the last complete checkpoint."""
        try:
            atomic_save_file(write, path)
        except (OSError, RuntimeError) as exc:
            folder = osp.dirname(osp.abspath(path))
            try:
                free = f'{shutil.disk_usage(folder).free / 2**20:.0f} MiB'
            except OSError:
                free = 'unknown'
            reason = (exc.strerror if isinstance(exc, OSError)
                      and exc.strerror else str(exc).splitlines()[0])
            last = getattr(self, '_last_complete', None)
            last = last if last and last != path and osp.isfile(last) \
                else None
            keep = (f'the last complete checkpoint, {last}, is intact: '
                    'resume with --resume once there is room'
                    if last else 'no complete checkpoint was written yet')
            raise CheckpointWriteError(
                f'cannot write the checkpoint {path}: {reason} (free space '
                f'on {folder}: {free}); free space there or choose another '
                f'--work-dir; {keep}') from exc

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
            self._write(
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
        self._last_complete = getattr(self, 'last_ckpt', None)
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
            self._write(write_ckpt, ckpt_path)
        else:  # as the stock hook (Runner.save_checkpoint is master-only)
            write_ckpt(ckpt_path)
            return
        self._last_complete = ckpt_path

        def write_last(tmp):
            with open(tmp, 'w') as f:
                f.write(self.last_ckpt)

        self._write(write_last, osp.join(runner.work_dir, 'last_checkpoint'))

        for old in stale:
            old_path = osp.join(self.out_dir, self.filename_tmpl.format(old))
            if osp.isfile(old_path):
                os.remove(old_path)
            elif osp.isdir(old_path):  # deepspeed saves directories
                shutil.rmtree(old_path)
