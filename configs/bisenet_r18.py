# BiSeNet (Yu et al., ECCV 2018) with a ResNet-18 context path on Cityscapes,
# 1024x1024 crops, 160k iterations (4 GPUs x 4): model and recipe of stock
# mmseg's bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024 (context backbone
# trained from scratch, as there), with the Feature Fusion Module as decode
# head. Stock BiSeNetV1 checkpoints load after
#  tools/convert_weights.py --from mmseg IN OUT --config configs/bisenet_r18.py
_base_ = [
    './_base_/models/bisenet_r18.py',
    './_base_/datasets/cityscapes_1024x1024_checked.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py'
]
crop_size = (1024, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
param_scheduler = [
    dict(type='LinearLR', by_epoch=False, start_factor=0.1, begin=0, end=1000),
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=1000,
        end=160000,
        by_epoch=False)
]
optimizer = dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer)
train_dataloader = dict(batch_size=4, num_workers=4)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader

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

# the same model in stock mmseg (tools/benchmark.py --compare-stock)
stock_equivalent = 'mmseg::bisenetv1/bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py'
