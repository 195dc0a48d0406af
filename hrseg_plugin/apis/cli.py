"""The tools' command lines: errors reported in one line, shared
arguments.

Errors caused by the user's input are raised as :class:`ToolError`;
:func:`run_tool` prints them as one ``<tool>: error: <message>`` line and
exits with status 2, as argparse does for a bad argument.
"""
import argparse
import logging
import os
import os.path as osp
import sys
from typing import Any, Callable, Optional


class ToolError(Exception):
    """An error in the user's input: arguments, config or files.

    The tools report it without a traceback (see :func:`run_tool`).
    """


def run_tool(main: Callable[[], Any], prog: Optional[str] = None,
             errors: tuple = ()) -> None:
    """Run a tool's ``main``, reporting :class:`ToolError` (and the
    exception types in ``errors``, this package's checks'
    :class:`hrseg_plugin.errors.CheckError`, and the library errors
    :func:`hrseg_plugin.apis.explain.explain_exception` recognises as a
    user's mistake) without a traceback as ``<prog>: error: <message>`` on
    stderr, exit status 2; otherwise exit with the status ``main`` returns
    when it is an int (0 else)."""
    prog = prog or osp.basename(sys.argv[0])
    try:
        status = main()
    except (ToolError, ) + tuple(errors) as exc:
        _report(prog, str(exc))
    except Exception as exc:  # noqa: BLE001 - re-raised unless explained
        from .explain import explain_exception
        message = explain_exception(exc)
        if message is None:
            raise
        _report(prog, message)
    sys.exit(status if isinstance(status, int) else 0)


def _report(prog: str, message: str) -> None:
    sys.stdout.flush()
    print(f'{prog}: error: {message}', file=sys.stderr)
    sys.exit(2)


def check_file(path: str, what: str) -> str:
    """Fail unless ``path`` is an existing file.

    Paths with a URL scheme (``https://``, ``s3://`` ...) are left to
    mmengine's file backends.

    Raises:
        ToolError: ``<what> not found: <path>`` (or is a directory).
    """
    if '://' in str(path):
        return path
    if not osp.isfile(path):
        if osp.isdir(path):
            raise ToolError(f'{what} is a directory, not a file: {path}')
        raise ToolError(f'{what} not found: {path}')
    return path


def check_output_file(path: str, flag: str) -> str:
    """Fail before any work when the file ``path`` (given with ``flag``)
    cannot be written: its folder is created if needed, and a probe file
    written and removed there.

    Raises:
        ToolError: ``<flag> <path>: cannot write there: <reason>``.
    """
    if osp.isdir(path):
        raise ToolError(f'{flag} {path} is a folder; give a file name')
    try:
        write_probe(osp.dirname(osp.abspath(path)), osp.basename(path))
    except OSError as exc:
        raise ToolError(f'{flag} {path}: cannot write there: '
                        f'{exc.strerror or exc}; choose a writable place')
    return path


def write_probe(folder: str, name: str = '') -> None:
    """Create ``folder`` if needed, then write and remove a probe file in
    it: whether a tool can write there, before any work starts.

    Args:
        folder (str): The folder to check.
        name (str): Part of the probe file's name (the file to be written).

    Raises:
        OSError: The folder cannot be created or written to.
    """
    probe = osp.join(folder, f'.{name + "." if name else ""}write-test-'
                     f'{os.getpid()}')
    os.makedirs(folder, exist_ok=True)
    with open(probe, 'w') as f:
        f.write('ok')
    os.remove(probe)


def check_shape_arg(parser: argparse.ArgumentParser, shape,
                    flag: str = '--shape') -> None:
    """``parser.error`` naming ``flag`` unless both sides of ``shape`` are
    at least one pixel (every smaller size computes, as in stock mmseg)."""
    if shape is not None and min(shape) < 1:
        parser.error(f'{flag} H W: both sides must be at least 1 pixel, got '
                     f'{" ".join(str(s) for s in shape)}')


def log_message(msg: str, level: int = logging.INFO) -> None:
    """Log through mmengine's current logger (printed to the terminal)."""
    from mmengine.logging import print_log
    print_log(msg, logger='current', level=level)


CHECKPOINT_TRUST_HELP = (
    'Checkpoints are loaded with torch.load(weights_only=True): importing '
    'hrseg_plugin allows exactly the mmengine / numpy objects that '
    'mmengine puts in its checkpoints (hrseg_plugin.utils.safe_checkpoints), '
    'so no other code can run from a checkpoint file.')


def config_checkpoint_parser(description: str,
                             config_help: str) -> argparse.ArgumentParser:
    """An argument parser for a tool taking ``CONFIG CHECKPOINT``
    (``test.py``, ``infer.py``), with :data:`CHECKPOINT_TRUST_HELP` after
    the options."""
    parser = argparse.ArgumentParser(
        description=description, epilog=CHECKPOINT_TRUST_HELP)
    parser.add_argument('config', help=config_help)
    parser.add_argument('checkpoint', help='checkpoint file')
    return parser


def docstring_parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser whose ``--help`` is a tool's docstring: the first
    paragraph as the description, the rest (examples ...) as it is written
    after the options."""
    summary, _, details = doc.partition('\n\n')
    return argparse.ArgumentParser(
        description=summary,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=details)


CFG_OPTIONS_HELP = (
    'override settings of the config: KEY=VALUE pairs merged into it, with '
    'dotted keys for nested fields, e.g. train_cfg.max_iters=100 '
    'optim_wrapper.optimizer.lr=0.01. A list value is written key="[a,b]" '
    'or key=a,b, nested lists/tuples key="[(a,b),(c,d)]"; the quotation '
    'marks are needed and no white space is allowed.')


def add_cfg_options_arg(parser: argparse.ArgumentParser) -> None:
    """Add ``--cfg-options KEY=VALUE ...`` (mmengine's ``DictAction``)."""
    from mmengine.config import DictAction
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        metavar='KEY=VALUE',
        help=CFG_OPTIONS_HELP)


def add_launcher_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--launcher`` and ``--local_rank`` / ``--local-rank``."""
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher: none for a single process (default), pytorch '
        'for torchrun / torch.distributed.launch, slurm or mpi')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank (older); torchrun sets the LOCAL_RANK variable instead.
    parser.add_argument(
        '--local_rank',
        '--local-rank',
        type=int,
        default=0,
        help='rank of this process on its node, set by the launcher; '
        'exported as LOCAL_RANK unless that is already set')


def export_local_rank(args: argparse.Namespace) -> None:
    """Export ``--local_rank`` as ``LOCAL_RANK`` (as the stock tools do)."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(getattr(args, 'local_rank', 0))


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv=None) -> argparse.Namespace:
    """Parse the command line of a tool that runs an mmengine runner
    (``train.py``, ``test.py``): ``parser``'s arguments plus
    ``--cfg-options`` and the launcher's; ``--local_rank`` is exported."""
    add_cfg_options_arg(parser)
    add_launcher_args(parser)
    args = parser.parse_args(argv)
    export_local_rank(args)
    return args
