"""The work dir of a training run: writable, and used by one run at a time.

Two trainings started into the same work dir would both run, and the
second would overwrite the first's checkpoints, ``last_checkpoint`` and
config dump. :func:`lock_work_dir` takes ``<work_dir>/train.lock`` for the
run (an exclusive ``flock`` on the file, held until the process ends:
the kernel releases it when the process dies, even by SIGKILL, so a lock
left by a dead run is taken over without anyone deleting it). The file
records the holder's PID, host and start time, which the refusal of a
second run quotes. A lock file left behind by a run that died on *this*
host is reported when it is taken over; the file of a run on another host
is honoured where the file system shares ``flock`` locks (local disks,
NFSv4); elsewhere, the recorded host is the only guard.
"""
import errno
import json
import logging
import os
import os.path as osp
import socket
import time
from typing import Optional

from hrseg_plugin.utils.checkpoint_io import pid_running
from .cli import ToolError, log_message, write_probe

LOCK_NAME = 'train.lock'


def check_writable_dir(path: str, what: str = 'work dir',
                       flag: str = '--work-dir') -> str:
    """Create ``path`` if needed and check that a file can be written in
    it, before any work starts.

    Raises:
        ToolError: naming the folder, the reason and ``flag``.
    """
    try:
        write_probe(path)
    except OSError as exc:
        raise ToolError(
            f'cannot write to the {what} {path}: {exc.strerror or exc}; '
            f'choose a writable folder with {flag}') from exc
    return path


def _rank() -> int:
    """This process's rank, from the launchers' environment (the lock is
    taken before torch.distributed starts)."""
    for var in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if os.environ.get(var, '').isdigit():
            return int(os.environ[var])
    return 0


def _read(path: str) -> dict:
    try:
        with open(path) as f:
            return json.loads(f.read() or '{}')
    except (OSError, ValueError):
        return {}


def _holder(info: dict) -> str:
    started = info.get('started')
    when = time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started)) \
        if isinstance(started, (int, float)) else 'an unknown time'
    return (f"PID {info.get('pid', '?')} on host {info.get('host', '?')}, "
            f'started {when}')


class WorkDirLock:
    """The lock of one training run on its work dir (see the module
    docstring); :meth:`release` (or the end of the process) frees it."""

    def __init__(self, work_dir: str):
        self.path = osp.join(work_dir, LOCK_NAME)
        self._fd: Optional[int] = None

    def acquire(self) -> 'WorkDirLock':
        import fcntl
        host = socket.gethostname()
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                info = _read(self.path)
                raise ToolError(
                    f'{osp.dirname(self.path)} is in use by another '
                    f'training ({_holder(info)}; lock file {self.path}): '
                    'two runs in one work dir overwrite each other\'s '
                    'checkpoints. Wait for it to end, or give this run '
                    'another --work-dir') from None
            # the file may have been removed by a releasing holder between
            # open and flock: then lock the new one
            if os.path.exists(self.path) and \
                    os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                break
            os.close(fd)
        previous = _read(self.path)
        if previous.get('host') == host and previous.get('pid') and \
                not pid_running(int(previous['pid'])):
            log_message(
                f'{self.path}: taking over the lock of a run that ended '
                f'without releasing it ({_holder(previous)}; that process '
                'no longer runs)', logging.WARNING)
        elif previous.get('host') not in (None, host):
            # flock held by nobody: the other host's run is gone, or the
            # file system does not share flock locks between hosts
            os.close(fd)
            raise ToolError(
                f'{osp.dirname(self.path)} may be in use by a training on '
                f'another host ({_holder(previous)}; lock file '
                f'{self.path}), which cannot be checked from here. If that '
                f'run has ended, delete {self.path}; else give this run '
                'another --work-dir')
        info = dict(pid=os.getpid(), host=host, started=time.time())
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(info) + '\n').encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        """Remove the lock file and free the lock."""
        if self._fd is None:
            return
        import fcntl
        try:
            os.remove(self.path)
        except OSError:
            pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def lock_work_dir(work_dir: str) -> Optional[WorkDirLock]:
    """Check that ``work_dir`` is writable and take its lock for this
    training run (on rank 0 only: the ranks of a distributed run share
    it). Returns the lock (None on other ranks).

    Raises:
        ToolError: The work dir cannot be written, or another run holds
            it (naming that run's PID, host and start time).
    """
    if '://' in str(work_dir):
        return None
    check_writable_dir(work_dir)
    if _rank() != 0:
        return None
    return WorkDirLock(work_dir).acquire()
