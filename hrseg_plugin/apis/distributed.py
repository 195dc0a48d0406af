"""Distributed runs (``tools/dist_train.sh``, ``dist_test.sh``,
``slurm_train.sh``), also on machines without CUDA."""
from .cli import log_message


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


def is_main_process() -> bool:
    """True in a single process and on rank 0 of a distributed run (the
    rank that prints and writes the results)."""
    from mmengine.dist import is_main_process as _is_main
    return _is_main()
