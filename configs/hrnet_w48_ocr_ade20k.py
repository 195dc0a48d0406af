# HRNetV2-W48 + OCR on ADE20K (150 classes), 512x512 crops, 80k iterations
# of batch 4 x 4 GPUs: the recipe of stock mmseg's
# ocrnet_hr48_4xb4-80k_ade20k-512x512 (data: mmseg's ade20k base,
# data/ade/ADEChallengeData2016; see README "Datasets").
# 160k schedule as stock ocrnet_hr48_4xb4-160k_ade20k: replace
# schedule_80k.py by schedule_160k.py.
_base_ = [
    './_base_/models/hrnet_ocr.py', './_base_/datasets/ade20k_checked.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py'
]
stock_equivalent = 'mmseg::ocrnet/ocrnet_hr48_4xb4-80k_ade20k-512x512.py'
num_classes = 150
crop_size = (512, 512)
norm_cfg = dict(type='SyncBN', requires_grad=True)
hrnet_channels = [48, 96, 192, 384]
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch='w48',
        init_cfg=dict(
            type='hrseg_plugin.CheckedPretrained',
            checkpoint='open-mmlab://msra/hrnetv2_w48')),
    decode_head=[
        dict(
            # stock FCNHead with our training-step loss (same keys)
            type='hrseg_plugin.WithSpeedups',
            module='FCNHead',
            in_channels=hrnet_channels,
            channels=sum(hrnet_channels),
            in_index=(0, 1, 2, 3),
            input_transform='resize_concat',
            kernel_size=1,
            num_convs=1,
            concat_input=False,
            dropout_ratio=-1,
            num_classes=num_classes,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        dict(
            type='hrseg_plugin.OCRHead',
            in_channels=hrnet_channels,
            in_index=(0, 1, 2, 3),
            input_transform='resize_concat',
            channels=512,
            ocr_channels=256,
            dropout_ratio=-1,
            num_classes=num_classes,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ])

# hrseg_plugin.engine: checkpoints written to a temporary file and renamed
# (a kill never leaves the latest one unreadable); training stops at the
# first NaN/Inf loss; heads' in_channels are checked against the backbone
# before any data is read; skipped unreadable images are counted
default_hooks = dict(checkpoint=dict(type='hrseg_plugin.AtomicCheckpointHook'))
custom_hooks = [
    dict(type='hrseg_plugin.NonFiniteLossHook'),
    dict(type='hrseg_plugin.ModelCheckHook'),
    dict(type='hrseg_plugin.SkippedImagesHook')
]
