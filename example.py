crop_size = (
    256,
    256,
)
custom_hooks = [
    dict(type='hrseg_plugin.NonFiniteLossHook'),
    dict(type='hrseg_plugin.ModelCheckHook'),
    dict(type='hrseg_plugin.SkippedImagesHook'),
]
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'hrseg_plugin',
    ])
data_preprocessor = dict(
    bgr_to_rgb=True,
    mean=[
        123.675,
        116.28,
        103.53,
    ],
    pad_val=0,
    seg_pad_val=255,
    std=[
        58.395,
        57.12,
        57.375,
    ],
    type='SegDataPreProcessor')
data_root = 'data/demo/cityscapes/'
dataset_type = 'CityscapesDataset'
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False,
        interval=100,
        max_keep_ckpts=2,
        type='hrseg_plugin.AtomicCheckpointHook'),
    logger=dict(interval=10, log_metric_by_epoch=False, type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'),
    visualization=dict(type='SegVisualizationHook'))
default_scope = 'mmseg'
env_cfg = dict(
    cudnn_benchmark=True,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
hrnet_channels = [
    16,
    32,
    64,
    128,
]
load_from = None
log_level = 'INFO'
log_processor = dict(by_epoch=False)
max_iters = 300
model = dict(
    backbone=dict(
        arch='w18_small_v1',
        init_cfg=None,
        norm_cfg=dict(requires_grad=True, type='SyncBN'),
        norm_eval=False,
        out_channels_last=True,
        type='hrseg_plugin.HRNet'),
    data_preprocessor=dict(
        bgr_to_rgb=True,
        mean=[
            123.675,
            116.28,
            103.53,
        ],
        pad_val=0,
        seg_pad_val=255,
        size=(
            256,
            256,
        ),
        std=[
            58.395,
            57.12,
            57.375,
        ],
        type='SegDataPreProcessor'),
    decode_head=[
        dict(
            align_corners=False,
            channels=240,
            concat_input=False,
            dropout_ratio=-1,
            in_channels=[
                16,
                32,
                64,
                128,
            ],
            in_index=(
                0,
                1,
                2,
                3,
            ),
            input_transform='resize_concat',
            kernel_size=1,
            loss_decode=dict(
                loss_weight=0.4, type='CrossEntropyLoss', use_sigmoid=False),
            norm_cfg=dict(requires_grad=True, type='SyncBN'),
            num_classes=19,
            num_convs=1,
            type='FCNHead'),
        dict(
            align_corners=False,
            channels=128,
            dropout_ratio=-1,
            in_channels=[
                16,
                32,
                64,
                128,
            ],
            in_index=(
                0,
                1,
                2,
                3,
            ),
            input_transform='resize_concat',
            loss_decode=dict(
                loss_weight=1.0, type='CrossEntropyLoss', use_sigmoid=False),
            norm_cfg=dict(requires_grad=True, type='SyncBN'),
            num_classes=19,
            ocr_channels=64,
            type='hrseg_plugin.OCRHead'),
    ],
    num_stages=2,
    test_cfg=dict(mode='whole'),
    train_cfg=dict(),
    type='CascadeEncoderDecoder')
norm_cfg = dict(requires_grad=True, type='SyncBN')
optim_wrapper = dict(
    optimizer=dict(lr=0.002, type='AdamW', weight_decay=0.01),
    type='OptimWrapper')
param_scheduler = [
    dict(begin=0, by_epoch=False, end=20, start_factor=0.1, type='LinearLR'),
    dict(
        begin=20,
        by_epoch=False,
        end=300,
        eta_min=1e-05,
        power=0.9,
        type='PolyLR'),
]
randomness = dict(seed=0)
resume = False
test_cfg = dict(type='TestLoop')
test_dataloader = dict(
    batch_size=1,
    dataset=dict(
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        data_root='data/demo/cityscapes/',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(keep_ratio=True, scale=(
                512,
                256,
            ), type='Resize'),
            dict(num_classes=19, type='hrseg_plugin.LoadSegAnnotations'),
            dict(type='PackSegInputs'),
        ],
        type='CityscapesDataset'),
    num_workers=1,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
test_evaluator = dict(
    iou_metrics=[
        'mIoU',
    ], type='IoUMetric')
test_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(keep_ratio=True, scale=(
        512,
        256,
    ), type='Resize'),
    dict(num_classes=19, type='hrseg_plugin.LoadSegAnnotations'),
    dict(type='PackSegInputs'),
]
train_cfg = dict(max_iters=300, type='IterBasedTrainLoop', val_interval=300)
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        data_root='data/demo/cityscapes/',
        pipeline=[
            dict(type='hrseg_plugin.LoadImageFromFile'),
            dict(num_classes=19, type='hrseg_plugin.LoadSegAnnotations'),
            dict(
                keep_ratio=True,
                ratio_range=(
                    0.75,
                    1.5,
                ),
                scale=(
                    512,
                    256,
                ),
                type='RandomResize'),
            dict(
                cat_max_ratio=0.75, crop_size=(
                    256,
                    256,
                ), type='RandomCrop'),
            dict(prob=0.5, type='RandomFlip'),
            dict(type='PackSegInputs'),
        ],
        type='CityscapesDataset'),
    num_workers=1,
    persistent_workers=True,
    sampler=dict(shuffle=True, type='InfiniteSampler'))
train_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(num_classes=19, type='hrseg_plugin.LoadSegAnnotations'),
    dict(
        keep_ratio=True,
        ratio_range=(
            0.75,
            1.5,
        ),
        scale=(
            512,
            256,
        ),
        type='RandomResize'),
    dict(cat_max_ratio=0.75, crop_size=(
        256,
        256,
    ), type='RandomCrop'),
    dict(prob=0.5, type='RandomFlip'),
    dict(type='PackSegInputs'),
]
tta_model = dict(_scope_='mmseg', type='SegTTAModel')
val_cfg = dict(type='ValLoop')
val_dataloader = dict(
    batch_size=1,
    dataset=dict(
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        data_root='data/demo/cityscapes/',
        pipeline=[
            dict(type='hrseg_plugin.LoadImageFromFile'),
            dict(keep_ratio=True, scale=(
                512,
                256,
            ), type='Resize'),
            dict(num_classes=19, type='hrseg_plugin.LoadSegAnnotations'),
            dict(type='PackSegInputs'),
        ],
        type='CityscapesDataset'),
    num_workers=1,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(
    iou_metrics=[
        'mIoU',
    ], type='IoUMetric')
vis_backends = [
    dict(_scope_='mmseg', type='LocalVisBackend'),
]
visualizer = dict(
    _scope_='mmseg',
    name='visualizer',
    type='SegLocalVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
    ])
