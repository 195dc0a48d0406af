# HRNetV2-W48 + OCR on ADE20K (150 classes), 512x512 crops, 80k iterations
# of batch 4 x 4 GPUs: the recipe of stock mmseg's
# ocrnet_hr48_4xb4-80k_ade20k-512x512 (data: mmseg's ade20k base,
# data/ade/ADEChallengeData2016; see README "Datasets").
# 160k schedule as stock ocrnet_hr48_4xb4-160k_ade20k: replace
# schedule_80k.py by schedule_160k.py.
_base_ = [
    './_base_/models/hrnet_w48_ocr.py', './_base_/datasets/ade20k_checked.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py'
]
stock_equivalent = 'mmseg::ocrnet/ocrnet_hr48_4xb4-80k_ade20k-512x512.py'
num_classes = 150
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=[
        dict(head, num_classes=num_classes)
        for head in _base_.model.decode_head
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
