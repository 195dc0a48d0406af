"""Reading and writing checkpoint files.

* :func:`load_checkpoint_file`: ``torch.load`` on the CPU, weights-only by
  default (mmengine's objects are allowed by
  :mod:`hrseg_plugin.utils.safe_checkpoints`), with an error naming the
  file;
* :func:`atomic_save_file`: write a file under a temporary name, fsync it
  and ``os.replace`` it over the final name, so that the final name is
  always either absent, the old file or the complete new one. Used by the
  converters (:func:`hrseg_plugin.converters.save_checkpoint`) and
  :class:`hrseg_plugin.engine.AtomicCheckpointHook`.
"""
import os
import os.path as osp
from typing import Callable, Type


def load_checkpoint_file(path: str,
                         weights_only: bool = True,
                         error: Type[Exception] = ValueError,
                         hint: str = ''):
    """Load a checkpoint file on the CPU.

    Args:
        path (str): The ``.pth`` file.
        weights_only (bool): Use ``torch.load(weights_only=True)`` (no
            arbitrary code from the pickle).
        error (type): The exception raised when the file is missing or
            cannot be read; its message names the file.
        hint (str): Appended to the message when ``torch.load`` fails.

    Returns:
        object: What ``torch.load`` returned.
    """
    if not osp.isfile(path):
        raise error(f'no such checkpoint file: {path}')
    import torch
    try:
        return torch.load(path, map_location='cpu', weights_only=weights_only)
    except Exception as e:  # noqa: BLE001 - report any loader failure
        raise error(f'cannot load {path}: {type(e).__name__}: {e}{hint}') \
            from e


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def tmp_path_of(path: str) -> str:
    """The temporary name ``path`` is written under before the rename."""
    folder, name = osp.split(path)
    return osp.join(folder, f'.{name}.tmp-{os.getpid()}')


def atomic_save_file(write: Callable[[str], None], path: str) -> None:
    """Write ``path`` atomically: ``write(tmp_path)`` writes a temporary
    file in the same folder, which is fsynced and renamed to ``path``. On
    any error (or a kill) ``path`` keeps its old content, or stays absent;
    the temporary file is removed on errors.

    Args:
        write (callable): ``write(tmp_path)`` writes the whole file.
        path (str): Final local path.
    """
    tmp = tmp_path_of(path)
    try:
        write(tmp)
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(osp.dirname(osp.abspath(path)))
