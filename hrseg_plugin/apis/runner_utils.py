"""Code shared by the user-facing runner tools.

``tools/train.py``, ``tools/test.py`` and ``tools/infer.py`` run both
MMSegmentation and MMDetection configs.  Which library handles a config is
decided by its ``default_scope`` (``'mmseg'`` or ``'mmdet'``); every
difference between the two is a field of a :class:`TaskSpec` in
:data:`TASKS`, so there is a single code path for both libraries.

Importing this module is cheap: torch, mmcv, mmseg and mmdet are imported
inside the functions that need them, so a wrong argument, a missing file or
a bad ``default_scope`` is reported in about a second.

Errors caused by the user's input are raised as :class:`ToolError`;
:func:`run_tool` prints them as one ``<tool>: error: <message>`` line and
exits with status 2.
"""
import argparse
import copy
import importlib
import json
import logging
import math
import os
import os.path as osp
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

#: ``default_scope`` values the tools accept.
SUPPORTED_SCOPES = ('mmseg', 'mmdet', 'mmpose', 'mmpretrain')

#: File extensions (lower case) taken from a folder given to ``infer.py``.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')

#: Registered name of the optimizer wrapper ``--amp`` uses on CPU.
CPU_AMP_OPTIM_WRAPPER = 'CPUAmpOptimWrapper'

#: Name of the metrics file ``test.py --out DIR`` writes.
METRICS_FILE = 'metrics.json'


class ToolError(Exception):
    """An error in the user's input: arguments, config or files.

    The tools report it without a traceback (see :func:`run_tool`).
    """


@dataclass(frozen=True)
class TaskSpec:
    """Everything that differs between an mmseg and an mmdet config.

    Callables are given as ``'module:attribute'`` strings and imported only
    when used (see :func:`import_object`).

    Attributes:
        scope: The ``default_scope`` value, also the library's package name.
        task: Human-readable task name.
        init_model: Builds a model for inference from a config and a
            checkpoint: ``f(config, checkpoint=..., device=...)``.
        inference: Runs one image through the model: ``f(model, image)``.
        visualizer: Visualizer class drawing predictions over the image.
        draw_kwargs: Fixed keyword arguments of the visualizer's
            ``add_datasample``.
        score_thr_kwarg: Name of the ``add_datasample`` argument that takes
            ``infer.py --score-thr`` (None: the task has no scores to
            threshold).
        show_dir_target: Where ``test.py --show-dir`` goes, as in the stock
            ``tools/test.py`` of the library: ``('visualizer', 'save_dir')``
            sets ``cfg.visualizer.save_dir``, ``('hook', key)`` sets ``key``
            of the ``visualization`` hook.
        setup: Optional callable run before a runner is built.
    """
    scope: str
    task: str
    init_model: str
    inference: str
    visualizer: str
    draw_kwargs: Dict[str, Any] = field(default_factory=dict)
    score_thr_kwarg: Optional[str] = None
    show_dir_target: Tuple[str, str] = ('visualizer', 'save_dir')
    setup: Optional[str] = None

    @property
    def runners_registry(self) -> str:
        """The library's RUNNERS registry, used when a config sets
        ``runner_type``."""
        return f'{self.scope}.registry:RUNNERS'


TASKS: Dict[str, TaskSpec] = {
    'mmseg':
    TaskSpec(
        scope='mmseg',
        task='semantic segmentation',
        init_model='mmseg.apis:init_model',
        inference='mmseg.apis:inference_model',
        visualizer='mmseg.visualization:SegLocalVisualizer',
        draw_kwargs=dict(with_labels=True),
        show_dir_target=('visualizer', 'save_dir')),
    'mmdet':
    TaskSpec(
        scope='mmdet',
        task='object detection / instance segmentation',
        init_model='mmdet.apis:init_detector',
        inference='mmdet.apis:inference_detector',
        visualizer='mmdet.visualization:DetLocalVisualizer',
        score_thr_kwarg='pred_score_thr',
        show_dir_target=('hook', 'test_out_dir'),
        setup='mmdet.utils:setup_cache_size_limit_of_dynamo'),
}
# MMPose (top-down heatmaps) and MMPretrain (ImageNet classification), issue
# 18: train / test go through the same runner code; their inference and
# drawing through hrseg_plugin.apis.task_adapters (both libraries' apis
# import torchvision). --show-dir is not wired for them: their visualization
# hooks take `enable` / `out_dir`, not mmseg's / mmdet's `draw`.
TASKS.update({
    'mmpose':
    TaskSpec(
        scope='mmpose',
        task='top-down pose estimation',
        init_model='mmpose.apis:init_model',
        inference='hrseg_plugin.apis.task_adapters:pose_topdown',
        visualizer='mmpose.visualization:PoseLocalVisualizer',
        show_dir_target=('hook', 'out_dir')),
    'mmpretrain':
    TaskSpec(
        scope='mmpretrain',
        task='image classification',
        init_model='hrseg_plugin.apis.task_adapters:init_classifier',
        inference='hrseg_plugin.apis.task_adapters:classify',
        visualizer='hrseg_plugin.apis.task_adapters:cls_visualizer',
        show_dir_target=('hook', 'out_dir')),
})
assert tuple(TASKS) == SUPPORTED_SCOPES


def import_object(path: str) -> Any:
    """Import ``'package.module:attribute'`` and return the attribute."""
    module_name, _, attr = path.partition(':')
    return getattr(importlib.import_module(module_name), attr)


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------
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


def run_tool(main: Callable[[], Any], prog: Optional[str] = None,
             errors: tuple = ()) -> None:
    """Run a tool's ``main``, reporting :class:`ToolError` (and the
    exception types in ``errors``) without a traceback as ``<prog>: error:
    <message>`` on stderr, exit status 2; otherwise exit with the status
    ``main`` returns when it is an int (0 else)."""
    prog = prog or osp.basename(sys.argv[0])
    try:
        status = main()
    except (ToolError, ) + tuple(errors) as exc:
        sys.stdout.flush()
        print(f'{prog}: error: {exc}', file=sys.stderr)
        sys.exit(2)
    sys.exit(status if isinstance(status, int) else 0)


# --------------------------------------------------------------------------
# config
# --------------------------------------------------------------------------
def check_file(path: str, what: str) -> str:
    """Fail unless ``path`` is an existing file.

    Paths with a URL scheme (``https://``, ``s3://`` ...) are left to
    mmengine's file backends.
    """
    if '://' in str(path):
        return path
    if not osp.isfile(path):
        if osp.isdir(path):
            raise ToolError(f'{what} is a directory, not a file: {path}')
        raise ToolError(f'{what} not found: {path}')
    return path


def get_task_spec(cfg, config_path: str = 'the config') -> TaskSpec:
    """Return the :class:`TaskSpec` of the config's ``default_scope``.

    Raises:
        ToolError: ``default_scope`` is missing or not in
            :data:`SUPPORTED_SCOPES`.
    """
    allowed = ', '.join(repr(s) for s in SUPPORTED_SCOPES)
    scope = cfg.get('default_scope', None)
    if scope is None:
        raise ToolError(
            f'{config_path} has no `default_scope`: the tools use it to '
            f'choose the library, so set default_scope to one of {allowed} '
            '(in the config, or with --cfg-options default_scope=mmseg)')
    if scope not in TASKS:
        raise ToolError(
            f'{config_path}: unsupported default_scope={scope!r}; allowed '
            f'values of `default_scope` are {allowed}')
    return TASKS[scope]


def load_config(config_path: str, cfg_options: Optional[dict] = None):
    """Load a config, merge ``--cfg-options`` into it and check its
    ``default_scope``.

    The config's ``custom_imports`` (e.g. ``imports=['hrseg_plugin']``) are
    imported by mmengine while loading, which registers the project's
    modules; stock mmseg / mmdet configs need nothing else.

    Args:
        config_path: Path of the config file.
        cfg_options: Parsed ``--cfg-options``, merged after loading; they
            may also set ``default_scope``.

    Returns:
        mmengine.Config: The config.

    Raises:
        ToolError: The file is missing or the ``default_scope`` is missing
            or unsupported.
    """
    check_file(config_path, 'config file')
    from mmengine.config import Config
    cfg = Config.fromfile(config_path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    get_task_spec(cfg, config_path)
    return cfg


def setup_runtime(cfg,
                  config_path: str,
                  work_dir: Optional[str] = None,
                  launcher: str = 'none') -> str:
    """Set ``cfg.launcher`` and ``cfg.work_dir`` as the stock tools do.

    The work dir is, in this order: ``--work-dir``, the config's
    ``work_dir``, ``./work_dirs/<config file name without extension>``.

    Returns:
        str: The work dir.
    """
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])
    return cfg.work_dir


CHECKPOINT_TRUST_HELP = (
    'Checkpoints are loaded with torch.load(weights_only=True): importing '
    'hrseg_plugin allows exactly the mmengine / numpy objects that '
    'mmengine puts in its checkpoints (hrseg_plugin.utils.safe_checkpoints), '
    'so no other code can run from a checkpoint file.')


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load``'s weights-only default read mmengine's checkpoints
    (:mod:`hrseg_plugin.utils.safe_checkpoints`, also done by ``import
    hrseg_plugin``), for stock configs too, whose ``custom_imports`` do not
    import hrseg_plugin."""
    from hrseg_plugin.utils.safe_checkpoints import \
        allow_mmengine_checkpoints as allow
    allow()


def build_runner(cfg):
    """Build the mmengine runner of a config (``Runner.from_cfg``, or the
    library's ``RUNNERS`` registry when the config sets ``runner_type``)."""
    spec = get_task_spec(cfg)
    register_cpu_amp_optim_wrapper()
    if spec.setup:
        import_object(spec.setup)()
    allow_mmengine_checkpoints()
    if 'runner_type' in cfg:
        return import_object(spec.runners_registry).build(cfg)
    from mmengine.runner import Runner
    return Runner.from_cfg(cfg)


def check_built_model(runner) -> None:
    """Check, right after the runner is built and before any data is read,
    that the heads' (or neck's) ``in_channels`` match the backbone's
    outputs (``hrseg_plugin.engine.check_model_channels``).

    Only when ``hrseg_plugin`` is imported (by the config's
    ``custom_imports``): stock configs are left alone.

    Raises:
        ToolError: naming the head, its ``in_channels`` and the backbone's
            output channels.
    """
    if 'hrseg_plugin' not in sys.modules:
        return
    from hrseg_plugin.engine import check_model_channels
    try:
        check_model_channels(runner.model)
    except ValueError as exc:
        raise ToolError(f'the model of the config is inconsistent: {exc}')


# --------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------
def log_message(msg: str, level: int = logging.INFO) -> None:
    """Log through mmengine's current logger (printed to the terminal)."""
    from mmengine.logging import print_log
    print_log(msg, logger='current', level=level)


def enable_amp(cfg) -> str:
    """Switch the config to automatic mixed precision training.

    * On CUDA (and NPU / MLU / MUSA) devices: mmengine's ``AmpOptimWrapper``
      with a dynamic loss scale, as the stock tools do (float16 autocast).
    * On CPU: mmengine 0.10's ``AmpOptimWrapper`` refuses to be built
      without an accelerator, so :data:`CPU_AMP_OPTIM_WRAPPER` is used:
      the plain optimizer wrapper with the forward pass and the loss under
      ``torch.autocast('cpu', dtype=torch.bfloat16)``. bfloat16 has the
      exponent range of float32, so there is no loss scaling; parameters,
      gradients and the optimizer state stay float32.

    Returns:
        str: The optimizer wrapper type now in the config.

    Raises:
        ToolError: The config's wrapper is neither ``OptimWrapper`` nor an
            AMP wrapper, or the device cannot autocast (Apple MPS).
    """
    optim_wrapper = cfg.get('optim_wrapper', None)
    if optim_wrapper is None:
        raise ToolError('--amp needs an `optim_wrapper` in the config')
    wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
    amp_types = ('AmpOptimWrapper', CPU_AMP_OPTIM_WRAPPER)
    if wrapper_type not in ('OptimWrapper', ) + amp_types:
        raise ToolError('--amp is only supported when optim_wrapper.type is '
                        f'OptimWrapper, but the config has {wrapper_type!r}')

    from mmengine.device import get_device
    device = get_device()
    if device == 'mps':
        raise ToolError('--amp is not supported on Apple MPS devices')
    new_type = CPU_AMP_OPTIM_WRAPPER if device == 'cpu' else 'AmpOptimWrapper'
    if wrapper_type == new_type:
        log_message('AMP training is already enabled in your config.',
                    logging.WARNING)
        return new_type
    # Drop the other AMP wrapper's arguments when switching between the two.
    for key in ('loss_scale', 'dtype', 'use_fsdp'):
        optim_wrapper.pop(key, None)
    optim_wrapper.type = new_type
    if new_type == 'AmpOptimWrapper':
        optim_wrapper.loss_scale = 'dynamic'
    else:
        optim_wrapper.dtype = 'bfloat16'
        log_message('--amp on CPU: AmpOptimWrapper needs an accelerator, '
                    f'using {CPU_AMP_OPTIM_WRAPPER} (bfloat16 autocast, no '
                    'loss scaling)')
    return new_type


def apply_resume(cfg, resume: Optional[str]) -> None:
    """Apply ``--resume`` (call after :func:`setup_runtime`).

    None leaves the config's ``resume`` / ``load_from`` as they are;
    ``'auto'`` resumes from the latest checkpoint of the work dir (mmengine
    ``resume=True``, ``load_from=None``; without one training starts from
    scratch, with a warning); anything else is the checkpoint file to resume
    from.
    """
    if resume is None:
        return
    cfg.resume = True
    if resume == 'auto':
        cfg.load_from = None
        # mmengine's find_latest_checkpoint reads this file.
        if not osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint')):
            log_message(
                f'--resume: no checkpoint in {cfg.work_dir}, training from '
                'scratch', logging.WARNING)
    else:
        cfg.load_from = check_file(resume, 'checkpoint to resume from')


def register_cpu_amp_optim_wrapper():
    """Register :data:`CPU_AMP_OPTIM_WRAPPER` in mmengine's
    ``OPTIM_WRAPPERS`` registry (once) and return the class.

    It is registered in the root registry, so mmseg and mmdet configs both
    find it. The class is also reachable as
    ``hrseg_plugin.apis.runner_utils.CPUAmpOptimWrapper``.
    """
    from mmengine.registry import OPTIM_WRAPPERS
    registered = OPTIM_WRAPPERS.module_dict.get(CPU_AMP_OPTIM_WRAPPER)
    if registered is not None:
        return registered

    import torch
    from mmengine.optim import OptimWrapper

    class CPUAmpOptimWrapper(OptimWrapper):
        """``OptimWrapper`` running the forward pass and the loss under
        bfloat16 autocast on CPU.

        mmengine's ``AmpOptimWrapper`` asserts a CUDA / NPU / MLU / MUSA
        device; on CPU, torch autocast only supports bfloat16, which needs
        no loss scaling. ``backward`` and ``step`` are the plain wrapper's,
        so parameters, gradients and optimizer state stay float32 and a
        checkpoint resumes with or without ``--amp``.

        Args:
            dtype (str or torch.dtype): Autocast dtype; only ``'bfloat16'``
                is supported on CPU.
            **kwargs: Arguments of ``OptimWrapper``.
        """

        def __init__(self, dtype='bfloat16', **kwargs):
            if dtype not in ('bfloat16', torch.bfloat16):
                raise ValueError(
                    f'{CPU_AMP_OPTIM_WRAPPER} only supports dtype='
                    f"'bfloat16' (CPU autocast), got {dtype!r}")
            super().__init__(**kwargs)
            self.cast_dtype = torch.bfloat16

        @contextmanager
        def optim_context(self, model):
            with super().optim_context(model), torch.autocast(
                    device_type='cpu', dtype=self.cast_dtype):
                yield

    CPUAmpOptimWrapper.__module__ = __name__
    OPTIM_WRAPPERS.register_module(
        name=CPU_AMP_OPTIM_WRAPPER, module=CPUAmpOptimWrapper)
    return CPUAmpOptimWrapper


def __getattr__(name):  # PEP 562: build the torch-dependent class lazily
    if name == CPU_AMP_OPTIM_WRAPPER:
        return register_cpu_amp_optim_wrapper()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


# --------------------------------------------------------------------------
# test
# --------------------------------------------------------------------------
def check_test_config(cfg) -> None:
    """Fail early when the config cannot be tested."""
    missing = [
        key for key in ('test_dataloader', 'test_evaluator', 'test_cfg')
        if cfg.get(key, None) is None
    ]
    if missing:
        raise ToolError('the config cannot be tested: it has no ' +
                        ', '.join(f'`{k}`' for k in missing))


def enable_show_dir(cfg, show_dir: str) -> str:
    """Make the ``visualization`` hook paint every test image into
    ``show_dir`` (made absolute, relative to the current directory).

    mmseg writes the images to ``show_dir/vis_data/vis_image/`` (through the
    visualizer's storage backend), mmdet to ``show_dir/`` itself.

    Returns:
        str: The absolute ``show_dir``.
    """
    spec = get_task_spec(cfg)
    hooks = cfg.get('default_hooks', None) or {}
    if 'visualization' not in hooks:
        raise ToolError(
            '--show-dir needs a visualization hook in default_hooks, e.g. '
            "visualization=dict(type='SegVisualizationHook') (mmseg) or "
            "visualization=dict(type='DetVisualizationHook') (mmdet)")
    hook = hooks['visualization']
    hook['draw'] = True
    hook['interval'] = 1
    show_dir = osp.abspath(show_dir)
    # An absolute path also avoids mmdet 3.3's DetVisualizationHook joining
    # work_dir/timestamp onto test_out_dir again at every test iteration.
    section, key = spec.show_dir_target
    if section == 'visualizer':
        if cfg.get('visualizer', None) is None:
            raise ToolError('--show-dir needs a `visualizer` in the config')
        cfg.visualizer[key] = show_dir
    else:
        hook[key] = show_dir
    return show_dir


def to_builtin(value: Any) -> Any:
    """Convert metric values (numpy / torch scalars and arrays, tuples) to
    JSON-compatible Python objects; NaN and infinities become None."""
    if isinstance(value, dict):
        return {str(k): to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_builtin(v) for v in value]
    if hasattr(value, 'tolist'):  # numpy / torch
        return to_builtin(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    try:
        return to_builtin(float(value))
    except (TypeError, ValueError):
        return str(value)


def format_metrics(metrics: Dict[str, Any]) -> str:
    """One ``name: value`` line per metric."""
    lines = []
    for name, value in to_builtin(metrics).items():
        if isinstance(value, float):
            value = f'{value:.4f}'
        lines.append(f'{name}: {value}')
    return '\n'.join(lines)


def dump_metrics(metrics: Dict[str, Any], out_dir: str) -> str:
    """Write the metrics to ``out_dir/metrics.json`` and return its path."""
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, METRICS_FILE)
    with open(path, 'w') as f:
        json.dump(to_builtin(metrics), f, indent=2, sort_keys=True)
        f.write('\n')
    return path


# --------------------------------------------------------------------------
# infer
# --------------------------------------------------------------------------
def collect_images(inputs: Sequence[str]) -> List[str]:
    """Expand the ``IMAGE`` arguments: a folder gives the files in it (not
    recursive) whose extension is in :data:`IMAGE_EXTENSIONS`, sorted; any
    other argument is kept as it is (a missing or unreadable file fails
    later, in :func:`read_image`)."""
    images = []
    for item in inputs:
        if osp.isdir(item):
            found = sorted(
                osp.join(item, name) for name in os.listdir(item)
                if name.lower().endswith(IMAGE_EXTENSIONS)
                and osp.isfile(osp.join(item, name)))
            if not found:
                raise ToolError(
                    f'no images ({", ".join(IMAGE_EXTENSIONS)}) in folder '
                    f'{item}')
            images.extend(found)
        else:
            images.append(item)
    return images


def check_image(path: str) -> None:
    """Cheap check that ``path`` is a file OpenCV has a decoder for (only
    the file's signature is read).

    Raises:
        ToolError: naming the file, when it is missing or not an image.
    """
    if not osp.isfile(path):
        raise ToolError(f'cannot read image {path}: no such file')
    import cv2
    if not cv2.haveImageReader(path):
        raise ToolError(
            f'cannot read image {path}: not an image format OpenCV can read')


def read_image(path: str):
    """Read an image as a BGR ``uint8`` array, as mmcv's
    ``LoadImageFromFile`` does.

    Raises:
        ToolError: naming the file, when it is missing or cannot be decoded.
    """
    check_image(path)
    import mmcv
    try:
        img = mmcv.imread(path)
    except Exception as exc:  # decoder errors vary with the backend
        raise ToolError(f'cannot read image {path}: {exc}') from exc
    if img is None or img.size == 0:
        raise ToolError(
            f'cannot read image {path}: not a valid image file')
    return img


def check_checkpoint_fits(checkpoint: str, model) -> None:
    """Refuse a checkpoint whose weights do not fit ``model``: the init
    functions load non-strictly, so a checkpoint of another model would
    leave part of it random, with a warning lost in the log. Raises
    :class:`ToolError` naming the missing, unexpected and shape-mismatched
    keys."""
    import torch

    from hrseg_plugin.converters import (ConversionError,
                                         compare_state_dicts,
                                         raise_on_differences)
    ckpt = torch.load(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    state = {k[7:] if k.startswith('module.') else k: v
             for k, v in state.items()}
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    try:
        raise_on_differences(
            *compare_state_dicts(state, expected),
            f'{checkpoint} does not fit the config\'s model',
            hint='is it a checkpoint of another config? For a stock mmseg '
            '/ mmdet or official checkpoint, convert it first '
            '(tools/convert_weights.py)')
    except ConversionError as err:
        raise ToolError(str(err)) from None


def init_model_from_config(cfg, checkpoint: str, device: str = 'cpu'):
    """The config's model with the checkpoint's weights, in eval mode, by
    the library's own ``init_model`` (mmseg) / ``init_detector`` (mmdet),
    SyncBN replaced by BN (one process)."""
    check_file(checkpoint, 'checkpoint file')
    from mmengine.model import revert_sync_batchnorm
    init_model = import_object(get_task_spec(cfg).init_model)
    allow_mmengine_checkpoints()
    model = init_model(copy.deepcopy(cfg), checkpoint=checkpoint,
                       device=device)
    # the keys a model has do not depend on what was loaded into it:
    # check the file against this one model instead of building twice
    check_checkpoint_fits(checkpoint, model)
    # SyncBN cannot run in a single process: use plain BN (mmdet's
    # init_detector does this already, mmseg's init_model does not).
    return revert_sync_batchnorm(model).eval()


class Predictor:
    """Runs a config + checkpoint on single images and paints the result.

    mmseg configs use ``mmseg.apis.init_model`` / ``inference_model`` and
    ``SegLocalVisualizer``; mmdet configs ``mmdet.apis.init_detector`` /
    ``inference_detector`` and ``DetLocalVisualizer`` (boxes, and masks for
    instance segmentation models).

    Args:
        cfg (mmengine.Config): The loaded config (see :func:`load_config`).
        checkpoint (str): Checkpoint file.
        device (str): Torch device, e.g. ``'cpu'`` or ``'cuda:0'``.
        opacity (float): Opacity of the painted segmentation map / masks,
            in (0, 1].
        score_thr (float): Detections with a lower score are not drawn
            (mmdet only).
    """

    def __init__(self,
                 cfg,
                 checkpoint: str,
                 device: str = 'cpu',
                 opacity: float = 0.5,
                 score_thr: float = 0.3):
        self.spec = get_task_spec(cfg)
        if not 0 < opacity <= 1:
            raise ToolError(f'--opacity must be in (0, 1], got {opacity}')
        cfg = copy.deepcopy(cfg)  # the init functions edit cfg.model
        # mmseg's inference reads cfg.test_pipeline, mmdet's
        # cfg.test_dataloader.dataset.pipeline: make sure both exist.
        if cfg.get('test_pipeline', None) is None:
            try:
                cfg.test_pipeline = cfg.test_dataloader.dataset.pipeline
            except AttributeError:
                raise ToolError('the config has neither `test_pipeline` nor '
                                '`test_dataloader.dataset.pipeline`')
        self.model = init_model_from_config(cfg, checkpoint, device)
        self._inference = import_object(self.spec.inference)
        visualizer_cls = import_object(self.spec.visualizer)
        self.visualizer = visualizer_cls(
            name=f'hrseg_infer_{id(self)}', alpha=opacity)
        self.visualizer.dataset_meta = self.model.dataset_meta
        self.draw_kwargs = dict(self.spec.draw_kwargs)
        if self.spec.score_thr_kwarg:
            self.draw_kwargs[self.spec.score_thr_kwarg] = score_thr

    def predict(self, img):
        """Predict one BGR image (as returned by :func:`read_image`)."""
        return self._inference(self.model, img)

    def draw(self, img, result, out_file: str):
        """Paint ``result`` over the BGR image and write it to ``out_file``
        (same size as the image)."""
        import mmcv
        self.visualizer.add_datasample(
            osp.basename(out_file),
            mmcv.bgr2rgb(img),
            data_sample=result,
            draw_gt=False,
            draw_pred=True,
            show=False,
            out_file=out_file,
            **self.draw_kwargs)

    def __call__(self, img, out_file: str):
        """Predict the BGR image, write the overlay, return the result."""
        result = self.predict(img)
        self.draw(img, result, out_file)
        return result


# --------------------------------------------------------------------------
# distributed runs (tools/dist_train.sh, dist_test.sh, slurm_train.sh)
# --------------------------------------------------------------------------
def _replace_sync_bn(node) -> int:
    """Turn every ``type='SyncBN'`` dict under ``node`` into ``'BN'`` in
    place; return how many were changed."""
    changed = 0
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
            changed += 1
        for value in node.values():
            changed += _replace_sync_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            changed += _replace_sync_bn(value)
    return changed


def setup_cpu_distributed(cfg, launcher: str) -> bool:
    """Adapt a distributed run (``--launcher`` other than ``none``) to a
    machine without CUDA; nothing changes with a GPU or a single process.

    The configs are written for GPUs as the stock ones: ``nccl``, SyncBN,
    and mmengine wraps the model in DistributedDataParallel with
    ``device_ids=[LOCAL_RANK]``. None of them works on CPU, so here:

    * ``env_cfg.dist_cfg.backend``: ``nccl`` becomes ``gloo`` (any other
      backend the user set, e.g. with ``--cfg-options
      env_cfg.dist_cfg.backend=gloo``, is kept);
    * ``SyncBN`` becomes ``BN`` (torch's SyncBatchNorm accepts only GPU
      tensors): each process normalises with the statistics of its own
      batch, as a single-process run does;
    * the model wrapper gets ``device_ids=None`` (what DDP wants for a CPU
      module).

    Each change is logged. Returns True when the run was adapted.
    """
    if launcher == 'none':
        return False
    import torch
    if torch.cuda.is_available():
        return False
    env_cfg = cfg.get('env_cfg', None)
    if env_cfg is None:
        cfg.env_cfg = env_cfg = dict()
    dist_cfg = env_cfg.get('dist_cfg', None)
    if dist_cfg is None:
        env_cfg['dist_cfg'] = dist_cfg = dict()
    backend = dist_cfg.get('backend', 'nccl')
    if backend == 'nccl':
        dist_cfg['backend'] = 'gloo'
        log_message('CUDA is not available: distributed backend nccl -> '
                    'gloo (set env_cfg.dist_cfg.backend to choose another)')
    n_bn = _replace_sync_bn(cfg.get('model', None))
    if cfg.get('sync_bn', None) is not None:
        cfg.pop('sync_bn')
        n_bn += 1
    if n_bn:
        log_message(f'CUDA is not available: {n_bn} SyncBN setting(s) of the '
                    'config -> BN (torch SyncBatchNorm needs GPU tensors); '
                    'each process uses the BN statistics of its own batch')
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    else:
        wrapper.setdefault('device_ids', None)
    return True


def init_distributed(cfg, launcher: str) -> None:
    """Start ``torch.distributed`` with mmengine's ``init_dist`` (the
    launcher's environment: torchrun's RANK / WORLD_SIZE / MASTER_ADDR /
    MASTER_PORT, Slurm's SLURM_PROCID ..., or MPI's) before the runner is
    built; the runner then finds the process group ready.

    Done here only on machines without CUDA, where mmengine 0.10.7's
    ``init_dist`` fails in ``torch.cuda.set_device`` (absent from CPU
    builds of torch): that call is skipped, nothing else differs. With CUDA
    the runner initialises the process group itself, as in the stock tools.
    """
    if launcher == 'none':
        return
    import torch
    if torch.cuda.is_available():
        return
    from mmengine.dist import init_dist, is_distributed
    if is_distributed():
        return
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}) or {})
    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda *args, **kwargs: None
    try:
        init_dist(launcher, **dist_cfg)
    finally:
        torch.cuda.set_device = set_device
    rank = torch.distributed.get_rank()
    world = torch.distributed.get_world_size()
    log_message(f'distributed on CPU: rank {rank} of {world}, backend '
                f'{torch.distributed.get_backend()}')


# --------------------------------------------------------------------------
# data folders
# --------------------------------------------------------------------------
def _converter(name: str) -> str:
    """Path of a stock mmseg dataset converter, relative to the current
    directory when it lies below it (found without importing mmseg)."""
    import importlib.util
    spec = importlib.util.find_spec('mmseg')
    base = (osp.dirname(spec.origin) if spec and spec.origin else
            '<site-packages>/mmseg')
    path = osp.join(base, '.mim', 'tools', 'dataset_converters', name)
    rel = osp.relpath(path)
    return rel if not rel.startswith('..') else path


def dataset_prepare_hint(dataset_type: str, data_root: str) -> Optional[str]:
    """The command(s) that prepare a known data set in ``data_root`` (the
    README's "Datasets" section gives them in full), or None."""
    root = data_root.rstrip('/') or '.'
    if dataset_type == 'CityscapesDataset':
        return ('download leftImg8bit_trainvaltest.zip and '
                'gtFine_trainvaltest.zip from cityscapes-dataset.com, unzip '
                f'them into {root}, then run `python '
                f"{_converter('cityscapes.py')} {root} --nproc 8` "
                '(writes the *_labelTrainIds.png label maps)')
    if dataset_type == 'ADE20KDataset':
        return ('download ADEChallengeData2016.zip (http://data.csail.mit.'
                'edu/places/ADEchallenge/ADEChallengeData2016.zip) and unzip '
                f'it into {osp.dirname(root) or "."}')
    if dataset_type in ('PascalContextDataset', 'PascalContextDataset59'):
        devkit = osp.dirname(root) or '.'
        return ('extract VOCtrainval_03-May-2010.tar into '
                f'{osp.dirname(devkit) or "."} and trainval_merged.json into '
                f'{root}, install the Detail API (pip install "git+https://'
                'github.com/zhanghang1989/detail-api.git#subdirectory='
                f'PythonAPI"), then run `python '
                f"{_converter('pascal_context.py')} {devkit} "
                f'{root}/trainval_merged.json` (writes '
                'SegmentationClassContext/)')
    if dataset_type in ('CocoDataset', 'CocoPanopticDataset'):
        return ('download train2017.zip, val2017.zip and '
                'annotations_trainval2017.zip from cocodataset.org and unzip '
                f'them into {root}')
    return None


def _iter_datasets(dataset_cfg):
    """Yield the leaf dataset dicts of a dataset config (through
    ConcatDataset / RepeatDataset / ClassBalancedDataset /
    MultiImageMixDataset wrappers)."""
    if not isinstance(dataset_cfg, dict):
        return
    if 'datasets' in dataset_cfg:
        for sub in dataset_cfg['datasets']:
            yield from _iter_datasets(sub)
    elif 'dataset' in dataset_cfg:
        yield from _iter_datasets(dataset_cfg['dataset'])
    else:
        yield dataset_cfg


def _dataset_paths(ds) -> List[Tuple[str, str]]:
    """``(what, path)`` of the folders and files a dataset dict reads."""
    root = ds.get('data_root', None) or ''
    paths = []
    if root:
        paths.append(('data root', root))
    prefix = ds.get('data_prefix', None) or {}
    if isinstance(prefix, dict):
        for key, value in prefix.items():
            if isinstance(value, str) and value:
                paths.append((f'data_prefix.{key}', osp.join(root, value)))
    ann_file = ds.get('ann_file', None)
    if isinstance(ann_file, str) and ann_file:
        paths.append(('ann_file', osp.join(root, ann_file)))
    return paths


def check_data_folders(cfg, dataloaders: Sequence[str]) -> None:
    """Fail early, before the runner and its workers start, when a folder
    or annotation file a dataloader reads is missing.

    Walks the dataset(s) of each named dataloader of the config (e.g.
    ``('train_dataloader', 'val_dataloader')``); remote paths
    (``s3://...``) are skipped.

    Raises:
        ToolError: naming the missing path, the dataloader, and for a known
            data set (Cityscapes, ADE20K, PASCAL-Context, COCO) the
            commands that prepare it.
    """
    for name in dataloaders:
        loader = cfg.get(name, None)
        if not isinstance(loader, dict):
            continue
        for ds in _iter_datasets(loader.get('dataset', None)):
            for what, path in _dataset_paths(ds):
                if '://' in path or osp.exists(path):
                    continue
                dataset_type = str(ds.get('type', 'unknown'))
                msg = (f'{name}: {what} {path} of {dataset_type} does not '
                       'exist')
                hint = dataset_prepare_hint(
                    dataset_type.split('.')[-1], ds.get('data_root', '') or
                    osp.dirname(path))
                if hint:
                    msg += f'; to prepare it: {hint}'
                msg += (" (or point the config's data_root elsewhere, e.g. "
                        f'--cfg-options {name}.dataset.data_root=DIR)')
                raise ToolError(msg)


def is_main_process() -> bool:
    """True in a single process and on rank 0 of a distributed run (the
    rank that prints and writes the results)."""
    from mmengine.dist import is_main_process as _is_main
    return _is_main()


def check_train_data_folders(cfg) -> None:
    """:func:`check_data_folders` for a training run: a missing training
    folder is an error; a missing validation folder (used only at the
    first validation) is logged as a warning with the same message."""
    check_data_folders(cfg, ('train_dataloader', ))
    if cfg.get('val_cfg', None) and cfg.get('val_dataloader', None):
        try:
            check_data_folders(cfg, ('val_dataloader', ))
        except ToolError as exc:
            log_message(f'{exc}; validation will fail', logging.WARNING)
