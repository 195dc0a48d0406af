# HRNetV2-W48 + OCR on Cityscapes 512x1024, 80k iterations (4 GPUs x 2):
# the paper's headline model, recipe of stock mmseg's
# ocrnet_hr48_4xb2-80k_cityscapes-512x1024 (80.7-81.4 mIoU in its model zoo).
_base_ = [
    './_base_/models/hrnet_w48_ocr.py',
    './_base_/datasets/cityscapes_checked.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)

# the same model in stock mmseg (tools/benchmark.py --compare-stock)
stock_equivalent = 'mmseg::ocrnet/ocrnet_hr48_4xb2-80k_cityscapes-512x1024.py'

# hrseg_plugin.engine: checkpoints written to a temporary file and renamed
# (a kill never leaves the latest one unreadable); training stops at the
# first NaN/Inf loss; heads' in_channels are checked against the backbone
# before any data is read
default_hooks = dict(checkpoint=dict(type='hrseg_plugin.AtomicCheckpointHook'))
custom_hooks = [
    dict(type='hrseg_plugin.NonFiniteLossHook'),
    dict(type='hrseg_plugin.ModelCheckHook'),
    dict(type='hrseg_plugin.SkippedImagesHook')
]
