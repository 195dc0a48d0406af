# The schedule of the CPU-sized segmentation demos (configs/demo/): AdamW with
# poly decay converges from scratch in a few hundred iterations, which SGD at
# the stock lr does not; iteration-based loops, checkpoints every 100
# iterations, and the seed and reliability hooks every demo shares.
max_iters = 300
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=20, by_epoch=False),
    dict(
        type='PolyLR',
        eta_min=1e-5,
        power=0.9,
        begin=20,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # written to a temporary file and renamed: a kill never leaves the
    # latest checkpoint unreadable
    checkpoint=dict(
        type='hrseg_plugin.AtomicCheckpointHook',
        by_epoch=False,
        interval=100,
        max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# hrseg_plugin.engine: stop at the first NaN/Inf loss, before the update;
# check the heads' in_channels against the backbone before any data is read
custom_hooks = [
    dict(type='hrseg_plugin.NonFiniteLossHook'),
    dict(type='hrseg_plugin.ModelCheckHook'),
    dict(type='hrseg_plugin.SkippedImagesHook')
]
randomness = dict(seed=0)
