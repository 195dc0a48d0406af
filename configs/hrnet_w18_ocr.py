# HRNetV2-W18 + OCR on Cityscapes, 512x1024 crops, 80k iterations of batch
# 2 x 4 GPUs: the recipe of stock mmseg's ocrnet_hr18_4xb2-80k_cityscapes.
# For the 40k schedule: --cfg-options train_cfg.max_iters=40000
# param_scheduler.0.end=40000
_base_ = [
    './_base_/models/hrnet_ocr.py', './_base_/datasets/cityscapes_checked.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)

# the same model in stock mmseg (tools/benchmark.py --compare-stock)
stock_equivalent = 'mmseg::ocrnet/ocrnet_hr18_4xb2-80k_cityscapes-512x1024.py'

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
