# HRNetV2-W48 + OCR on PASCAL-Context, 59 classes (background ignored),
# 480x480 crops, 80k iterations of batch 4 x 4 GPUs.
# Stock mmseg has no OCRNet PASCAL-Context config: data (mmseg's
# pascal_context_59 base, data/VOCdevkit/VOC2010; see README "Datasets"),
# optimizer and sliding-window test follow stock
# hrnet/fcn_hr48_4xb4-80k_pascal-context-59-480x480.py, the model is
# configs/hrnet_ocr.py's with 59 classes.
_base_ = [
    './_base_/models/hrnet_ocr.py',
    './_base_/datasets/pascal_context_59_checked.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py'
]
num_classes = 59
crop_size = (480, 480)
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
    ],
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(320, 320)))
optimizer = dict(type='SGD', lr=0.004, momentum=0.9, weight_decay=0.0001)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)

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
