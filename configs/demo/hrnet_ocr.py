# HRNet-OCR sized for a CPU: the smallest published HRNet width
# (w18_small_v1) and a narrower OCR head, trained from scratch on the
# generated demo scenes (tools/make_demo_data.py) in a few minutes on 2 cores.
_base_ = [
    '../_base_/models/hrnet_ocr.py', 'mmseg::_base_/default_runtime.py'
]
norm_cfg = dict(type='SyncBN', requires_grad=True)
hrnet_channels = [16, 32, 64, 128]
crop_size = (256, 256)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(arch='w18_small_v1', init_cfg=None),
    decode_head=[
        dict(
            type='FCNHead',
            in_channels=hrnet_channels,
            channels=sum(hrnet_channels),
            in_index=(0, 1, 2, 3),
            input_transform='resize_concat',
            kernel_size=1,
            num_convs=1,
            concat_input=False,
            dropout_ratio=-1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        dict(
            type='hrseg_plugin.OCRHead',
            in_channels=hrnet_channels,
            in_index=(0, 1, 2, 3),
            input_transform='resize_concat',
            channels=128,
            ocr_channels=64,
            dropout_ratio=-1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ])

# data: the demo scenes in Cityscapes layout, 256x512 images
dataset_type = 'CityscapesDataset'
data_root = 'data/demo/cityscapes/'
# hrseg_plugin's loaders: an unreadable image / label file fails with its
# name, a label outside [0, 19) other than 255 fails with the file and value
train_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(type='hrseg_plugin.LoadSegAnnotations', num_classes=19),
    dict(
        type='RandomResize',
        scale=(512, 256),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(type='Resize', scale=(512, 256), keep_ratio=True),
    dict(type='hrseg_plugin.LoadSegAnnotations', num_classes=19),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# schedule: AdamW with poly decay converges from scratch in a few hundred
# iterations, which SGD at the stock lr does not
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
