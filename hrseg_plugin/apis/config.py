"""A tool's config: which library runs it, loading it, the run's settings
and its runner.

``tools/train.py``, ``tools/test.py`` and ``tools/infer.py`` run
MMSegmentation, MMDetection, MMPose and MMPretrain configs. Which library
handles a config is decided by its ``default_scope`` (``'mmseg'``,
``'mmdet'``, ``'mmpose'`` or ``'mmpretrain'``); every difference between
them is a field of a :class:`TaskSpec` in :data:`TASKS`, so there is a
single code path for all libraries. The
libraries' modules are imported only when used.
"""
import importlib
import logging
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from hrseg_plugin.utils import config as config_utils
from .amp import register_cpu_amp_optim_wrapper
from .checkpoints import allow_mmengine_checkpoints
from .cli import ToolError, check_file, log_message
from .distributed import init_distributed, setup_cpu_distributed

#: ``default_scope`` values the tools accept.
SUPPORTED_SCOPES = ('mmseg', 'mmdet', 'mmpose', 'mmpretrain')


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
# drawing through hrseg_plugin.apis.task_adapters (mmpretrain's apis import
# torchvision; the pose adapters avoid it). --show-dir is not wired for them: their visualization
# hooks take `enable` / `out_dir`, not mmseg's / mmdet's `draw`.
TASKS.update({
    'mmpose':
    TaskSpec(
        scope='mmpose',
        task='top-down pose estimation',
        init_model='hrseg_plugin.apis.task_adapters:init_pose_model',
        inference='hrseg_plugin.apis.task_adapters:pose_topdown',
        visualizer='hrseg_plugin.apis.task_adapters:pose_visualizer',
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
    """Load a config (:func:`hrseg_plugin.utils.load_config`: the file,
    with its ``custom_imports`` imported, and ``--cfg-options`` merged) and
    check its ``default_scope``.

    The config's ``custom_imports`` (e.g. ``imports=['hrseg_plugin']``)
    register the project's modules; stock mmseg / mmdet configs need
    nothing else.

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
    cfg = config_utils.load_config(config_path, cfg_options)
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


def apply_resume(cfg, resume: Optional[str]) -> None:
    """Apply ``--resume`` (call after :func:`setup_runtime`).

    None leaves the config's ``resume`` / ``load_from`` as they are;
    ``'auto'`` resumes from the latest checkpoint of the work dir (mmengine
    ``resume=True``, ``load_from=None``; without one training starts from
    scratch, with a warning); anything else is the checkpoint file to resume
    from. A resumed run gets ``hrseg_plugin.ConfigLRHook``: the config's
    learning rate wins over the checkpoint's.
    """
    if resume is not None:
        cfg.resume = True
        if resume == 'auto':
            cfg.load_from = None
            # mmengine's find_latest_checkpoint reads this file.
            if not osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint')):
                log_message(
                    f'--resume: no checkpoint in {cfg.work_dir}, training '
                    'from scratch', logging.WARNING)
        else:
            cfg.load_from = check_file(resume, 'checkpoint to resume from')
    if cfg.get('resume', False):
        # the config's learning rate wins over the checkpoint's
        hooks = list(cfg.get('custom_hooks', None) or [])
        if not any(str(h.get('type', '')).endswith('ConfigLRHook')
                   for h in hooks):
            hooks.append(dict(type='hrseg_plugin.ConfigLRHook'))
        cfg.custom_hooks = hooks


def check_test_config(cfg) -> None:
    """Fail early when the config cannot be tested."""
    missing = [
        key for key in ('test_dataloader', 'test_evaluator', 'test_cfg')
        if cfg.get(key, None) is None
    ]
    if missing:
        raise ToolError('the config cannot be tested: it has no ' +
                        ', '.join(f'`{k}`' for k in missing))


#: mmcv's image loader -> ours (same arguments, plus the checks).
CHECKED_IMAGE_LOADER = {'LoadImageFromFile': 'hrseg_plugin.LoadImageFromFile'}


def use_checked_image_loader(cfg) -> bool:
    """Swap mmcv's ``LoadImageFromFile`` of a segmentation config's test
    pipeline for ours (same arguments; an unreadable or truncated image is
    named instead of raising the decoder's error or, for a truncated JPEG,
    giving a grey band).

    Our segmentation configs keep mmcv's name in the test pipeline because
    mmseg's ``MMSegInferencer`` looks the loader up by that name;
    ``tools/test.py`` puts the checked one back. Detection configs and
    other loaders are left as they are.

    Returns:
        bool: Whether the loader was swapped.
    """
    if cfg.get('default_scope') != 'mmseg' or 'test_dataloader' not in cfg:
        return False
    pipeline = cfg.test_dataloader.get('dataset', {}).get('pipeline') or []
    swapped = False
    for step in pipeline:
        if step.get('type') in CHECKED_IMAGE_LOADER:
            step['type'] = CHECKED_IMAGE_LOADER[step['type']]
            swapped = True
    return swapped


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


def _uses_hrseg_plugin(model) -> bool:
    return any(
        type(m).__module__.startswith('hrseg_plugin.')
        for m in model.modules())


def check_built_model(runner, cfg=None) -> None:
    """Check, right after the runner is built and before any data is read,
    that the heads' (or neck's) ``in_channels`` match the backbone's
    outputs (``hrseg_plugin.engine.check_model_channels``; models built of
    hrseg_plugin modules only, stock models are left alone) and, for every
    model, that the heads' ``num_classes`` is the number of classes of the
    config's data sets (``hrseg_plugin.engine.check_num_classes``).

    Raises:
        ToolError: naming the head, the field, its value and the fix.
    """
    from hrseg_plugin.engine import check_model_channels, check_num_classes
    from .data_checks import config_classes
    try:
        if _uses_hrseg_plugin(runner.model):
            check_model_channels(runner.model)
        if cfg is not None:
            check_num_classes(runner.model, config_classes(
                cfg, ('train_dataloader', 'val_dataloader',
                      'test_dataloader')))
    except ValueError as exc:
        raise ToolError(f'the model of the config is inconsistent: {exc}')


def make_runner(cfg, launcher: str = 'none'):
    """The runner of a tool's run: adapted to a machine without CUDA and
    with ``torch.distributed`` started when ``launcher`` says so
    (:mod:`.distributed`), built (:func:`build_runner`; a mistyped module
    type or argument is one line naming the field) and its model checked
    (:func:`check_built_model`: channels, and ``num_classes`` against the
    data sets' classes), all before any data is read."""
    from .explain import explained_build_errors
    setup_cpu_distributed(cfg, launcher)
    init_distributed(cfg, launcher)
    with explained_build_errors(cfg):
        runner = build_runner(cfg)
    check_built_model(runner, cfg)
    return runner
