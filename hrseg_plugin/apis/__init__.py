"""What the tools run, one module per concern:

* :mod:`.cli`: :class:`ToolError` and :func:`run_tool` (one-line errors,
  exit status 2), the shared arguments (``--cfg-options``,
  ``--launcher``);
* :mod:`.config`: the config's library (:data:`TASKS` by
  ``default_scope``), loading it, work dir / resume / ``--show-dir``
  settings, building the runner;
* :mod:`.amp`: ``--amp`` (with a bfloat16 wrapper on CPU);
* :mod:`.distributed`: distributed runs, also without CUDA;
* :mod:`.data_checks`: missing data folders, folders without images, the
  data sets' classes, named before the run starts;
* :mod:`.checkpoints`: what a checkpoint may hold, whether it fits the
  model, which one a resume can use;
* :mod:`.explain`: one line for the library errors a user's mistake causes
  (unknown module type, an argument a module does not take, a full disk);
* :mod:`.work_dir`: a writable work dir, locked by one training at a time;
* :mod:`.images`, :mod:`.predictor`: ``infer.py``'s images and model;
* :mod:`.metrics`: ``test.py``'s metrics;
* :mod:`.benchmark` (its inputs: :mod:`.bench_inputs`),
  :mod:`.conv_profile`, :mod:`.onnx_export`: the benchmark and the ONNX
  export (imported on demand: they import torch and the libraries).

The modules re-exported here import torch, mmengine, mmseg and mmdet only
inside the functions that need them.
"""
from .amp import (CPU_AMP_OPTIM_WRAPPER, enable_amp,
                  register_cpu_amp_optim_wrapper)
from .checkpoints import (allow_mmengine_checkpoints, check_checkpoint_fits,
                          check_training_checkpoint, last_intact_checkpoint)
from .cli import (CFG_OPTIONS_HELP, CHECKPOINT_TRUST_HELP, ToolError,
                  add_cfg_options_arg, add_launcher_args, check_file,
                  check_output_file, check_shape_arg,
                  config_checkpoint_parser, docstring_parser,
                  export_local_rank, log_message, parse_runner_args,
                  run_tool)
from .config import (SUPPORTED_SCOPES, TASKS, TaskSpec, apply_resume,
                     build_runner, check_built_model, check_test_config,
                     enable_show_dir, get_task_spec, import_object,
                     use_checked_image_loader,
                     load_config, make_runner, setup_runtime)
from .data_checks import (check_data_folders, check_images_present,
                          check_train_data_folders, config_classes,
                          dataset_prepare_hint)
from .distributed import (init_distributed, is_main_process,
                          setup_cpu_distributed)
from .explain import explain_exception, explained_build_errors
from .images import IMAGE_EXTENSIONS, check_image, collect_images, read_image
from .metrics import METRICS_FILE, dump_metrics, format_metrics, to_builtin
from .predictor import Predictor, init_model_from_config
from .work_dir import WorkDirLock, check_writable_dir, lock_work_dir

__all__ = [
    'CFG_OPTIONS_HELP', 'CHECKPOINT_TRUST_HELP', 'CPU_AMP_OPTIM_WRAPPER',
    'IMAGE_EXTENSIONS', 'METRICS_FILE', 'SUPPORTED_SCOPES', 'TASKS',
    'Predictor', 'TaskSpec', 'ToolError', 'add_cfg_options_arg',
    'add_launcher_args', 'allow_mmengine_checkpoints', 'apply_resume',
    'build_runner', 'check_built_model', 'check_checkpoint_fits',
    'check_data_folders', 'check_file', 'check_image', 'check_test_config',
    'check_train_data_folders', 'collect_images', 'config_checkpoint_parser',
    'dataset_prepare_hint', 'docstring_parser', 'dump_metrics', 'enable_amp',
    'enable_show_dir', 'use_checked_image_loader', 'export_local_rank', 'format_metrics', 'get_task_spec',
    'import_object', 'init_distributed', 'init_model_from_config',
    'is_main_process', 'load_config', 'log_message', 'make_runner',
    'parse_runner_args', 'read_image', 'register_cpu_amp_optim_wrapper',
    'run_tool', 'setup_cpu_distributed', 'setup_runtime', 'to_builtin',
    'WorkDirLock', 'check_images_present', 'check_output_file',
    'check_shape_arg', 'check_training_checkpoint',
    'check_writable_dir', 'config_classes', 'explain_exception',
    'explained_build_errors', 'last_intact_checkpoint', 'lock_work_dir'
]
