# HRNetV2-W48 + OCR on PASCAL-Context, 59 classes (background ignored),
# 480x480 crops, 80k iterations of batch 4 x 4 GPUs.
# Stock mmseg has no OCRNet PASCAL-Context config: data (mmseg's
# pascal_context_59 base, data/VOCdevkit/VOC2010; see README "Datasets"),
# optimizer and sliding-window test follow stock
# hrnet/fcn_hr48_4xb4-80k_pascal-context-59-480x480.py, the model is
# configs/hrnet_ocr.py's with 59 classes.
_base_ = [
    './_base_/models/hrnet_w48_ocr.py',
    './_base_/datasets/pascal_context_59_checked.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py'
]
num_classes = 59
crop_size = (480, 480)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=[
        dict(head, num_classes=num_classes)
        for head in _base_.model.decode_head
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
