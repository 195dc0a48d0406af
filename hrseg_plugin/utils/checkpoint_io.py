"""Reading and writing checkpoint files.

* :func:`load_checkpoint_file`: ``torch.load`` on the CPU, weights-only by
  default (mmengine's objects are allowed by
  :mod:`hrseg_plugin.utils.safe_checkpoints`), with an error naming the
  file;
* :func:`find_checkpoints`: a folder's ``iter_N.pth`` / ``epoch_N.pth``,
  newest first;
* :func:`atomic_save_file`: write a file under a temporary name, fsync it
  and ``os.replace`` it over the final name, so that the final name is
  always either absent, the old file or the complete new one. Used by the
  converters (:func:`hrseg_plugin.converters.save_checkpoint`) and
  :class:`hrseg_plugin.engine.AtomicCheckpointHook`; :func:`stale_tmp_files`
  finds the temporary files of writers that were killed.
"""
import os
import os.path as osp
import re
from typing import Callable, List, Type


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
        raise error(f'cannot load {path}: {_load_failure(path, e)}{hint}') \
            from e


def _load_failure(path: str, exc: Exception) -> str:
    """Why ``torch.load`` failed, in one line."""
    import zipfile
    if not zipfile.is_zipfile(path):
        with open(path, 'rb') as f:
            head = f.read(2)
        if head != b'\x80\x02':  # not torch's legacy (pickle) format
            return ('truncated, or not a PyTorch checkpoint (torch.save '
                    'writes a zip archive, and this file is none)')
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
    return f'{type(exc).__name__}: {first}'


#: The names mmengine's CheckpointHook gives checkpoints.
_CHECKPOINT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def find_checkpoints(folder: str) -> List[str]:
    """The ``iter_N.pth`` / ``epoch_N.pth`` files of ``folder``, newest
    (highest N) first."""
    if not osp.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        match = _CHECKPOINT_NAME.match(name)
        if match and osp.isfile(osp.join(folder, name)):
            found.append((int(match.group(2)), match.group(1), name))
    return [osp.join(folder, name) for _, _, name in sorted(found)[::-1]]


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


#: :func:`tmp_path_of`'s names: ``.<name>.tmp-<pid>``.
_TMP_NAME = re.compile(r'^\.(.+)\.tmp-(\d+)$')


def pid_running(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def stale_tmp_files(folder: str) -> List[str]:
    """The temporary files :func:`atomic_save_file` left in ``folder``
    when its process was killed mid-write: those whose writer (the PID in
    the name) no longer runs on this host. A writer that still runs (this
    process, or another training writing to the same folder) keeps its
    file."""
    if not osp.isdir(folder):
        return []
    stale = []
    for name in sorted(os.listdir(folder)):
        match = _TMP_NAME.match(name)
        if match and not pid_running(int(match.group(2))):
            stale.append(osp.join(folder, name))
    return stale


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
