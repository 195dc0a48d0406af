"""The command line of ``tools/convert_weights.py``: convert third-party
weights to hrseg_plugin checkpoints.

Usage::

    python tools/convert_weights.py \\
        --from {mmseg,mmdet,mmpose,mmpretrain,timm,hrnet-official,
               bisenet-coincheung} \\
        IN.pth OUT.pth [--config CONFIG] [--cfg-options K=V ...]

The output is ``{'state_dict': ..., 'meta': {...origin info...}}``, written
atomically (temporary file, then ``os.replace``). With ``--config`` (one of
our configs: mmseg, mmdet, mmpose or mmpretrain) the model is built
(``custom_imports`` and ``default_scope`` from the config) and the converted
state dict must have exactly its keys and shapes; otherwise the missing /
unexpected / shape-mismatched keys are listed and nothing is written.

Exit status: 0 converted; 2 refused (bad input, key / shape mismatch,
mismatch with ``--config``, an unwritable OUT) or usage error, with a
``convert_weights.py: error: ...`` line as the other tools.
"""
import argparse
import os
import sys

from .checks import check_state_dict_against_config
from .files import conversion_meta, load_checkpoint_file, save_checkpoint
from .registry import ConversionError, available_origins, get_converter

#: 2, as every tool's (and argparse's) error exit status
EXIT_OK, EXIT_REFUSED = 0, 2


def _cfg_options(pairs):
    """Parse ``key=value`` overrides like mmengine's DictAction."""
    if not pairs:
        return None
    from mmengine.config import DictAction
    ns = argparse.Namespace(cfg_options=None)
    DictAction(option_strings=[], dest='cfg_options')(None, ns, pairs)
    return ns.cfg_options


def parse_args(argv=None):
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments (default ``sys.argv[1:]``).

    Returns:
        argparse.Namespace: ``origin``, ``src``, ``dst``, ``config``,
        ``cfg_options``, ``no_progress``, ``no_weights_only``.
    """
    registered = available_origins()
    choices = sorted(registered)
    origin_help = '; '.join(f'{o}: {registered[o]}' for o in choices)
    parser = argparse.ArgumentParser(
        description='Convert third-party weights to an hrseg_plugin '
        'checkpoint.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='exit status: 0 converted, 2 refused or usage error')
    parser.add_argument(
        '--from', dest='origin', required=True, choices=choices,
        help=f'where IN comes from ({origin_help})')
    parser.add_argument('src', metavar='IN', help='input checkpoint')
    parser.add_argument('dst', metavar='OUT', help='output checkpoint')
    parser.add_argument(
        '--config',
        help='a config of ours (mmseg / mmdet / mmpose / mmpretrain): build '
        'its model and require the converted state dict to have exactly its '
        'keys and shapes')
    parser.add_argument(
        '--cfg-options', nargs='+', metavar='KEY=VALUE',
        help='overrides for --config, as in mmseg tools '
        '(e.g. model.decode_head.1.num_classes=150)')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress bar')
    parser.add_argument(
        '--no-weights-only', action='store_true',
        help='load IN with torch.load(weights_only=False): runs pickled '
        'code, use only for trusted files holding non-tensor objects')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Run the conversion.

    Args:
        argv (list[str], optional): Arguments (default ``sys.argv[1:]``).

    Returns:
        int: Exit status (0 converted, 2 refused).
    """
    args = parse_args(argv)
    converter = get_converter(args.origin)  # argparse checked the choice
    try:
        if os.path.abspath(args.src) == os.path.abspath(args.dst):
            raise ConversionError('IN and OUT are the same file')
        checkpoint = load_checkpoint_file(
            args.src, weights_only=not args.no_weights_only)
        result = converter(checkpoint, progress=not args.no_progress)
        if args.config:
            check_state_dict_against_config(result.state_dict, args.config,
                                            _cfg_options(args.cfg_options))
        meta = dict(result.meta)
        meta.update(
            conversion_meta(args.origin, converter.__module__, args.src))
        if args.config:
            meta['checked_against_config'] = os.path.basename(args.config)
        save_checkpoint(args.dst, result.state_dict, meta)
    except (ConversionError, OSError) as e:
        # the tools' one-line form (hrseg_plugin.apis.run_tool): the first
        # line says what and where; key lists follow
        reason = (f'cannot write {e.filename or args.dst}: {e.strerror}'
                  if isinstance(e, OSError) else str(e))
        print(f'convert_weights.py: error: {reason}\nnothing written to '
              f'{args.dst}', file=sys.stderr)
        return EXIT_REFUSED
    print(f'converted {args.src} ({args.origin}) -> {args.dst}: '
          f'{len(result.state_dict)} tensors'
          + (f', checked against {args.config}' if args.config else ''))
    if meta.get('reproduce_with'):
        print('note: to reproduce the original outputs, build the model with '
              f'{meta["reproduce_with"]}')
    return EXIT_OK
