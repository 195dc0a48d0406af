# BiSeNet (Yu et al., ECCV 2018) with a ResNet-18 context path on Cityscapes,
# 1024x1024 crops, 160k iterations (4 GPUs x 4): model and recipe of stock
# mmseg's bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024 (context backbone
# trained from scratch, as there), with the Feature Fusion Module as decode
# head. Stock BiSeNetV1 checkpoints load after
#  tools/convert_weights.py --from mmseg IN OUT --config configs/bisenet_r18.py
_base_ = [
    './_base_/datasets/cityscapes_1024x1024_checked.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py'
]
custom_imports = dict(imports=['hrseg_plugin'], allow_failed_imports=False)
# SyncBN as stock; mmengine reverts it to BN in one non-distributed process.
norm_cfg = dict(type='SyncBN', requires_grad=True)
crop_size = (1024, 1024)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='hrseg_plugin.BiSeNet',
        # stock's spatial path: 7x7/2, 3x3/2, 3x3/2, 1x1 (CoinCheung's)
        spatial_variant='coincheung',
        spatial_channels=(64, 64, 64, 128),
        context_channels=128,
        backbone_cfg=dict(
            # stock mmseg's ResNet (BiSeNet folds its conv + BN pairs in
            # eval mode; any registered backbone works)
            type='ResNet',
            in_channels=3,
            depth=18,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            dilations=(1, 1, 1, 1),
            strides=(1, 2, 2, 2),
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            contract_dilation=True),
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='hrseg_plugin.FFMHead',
        in_channels=[128, 128],  # spatial, context
        channels=256,
        num_convs=1,
        # stock mmseg's FFM attention: one 1x1 conv-BN-ReLU, sigmoid
        attention_cfg=dict(
            reduction=None, norm_cfg=norm_cfg, act_before_sigmoid=True),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    # the paper's two auxiliary losses, on the 1/16 and 1/32 context features
    auxiliary_head=[
        dict(
            # stock FCNHead with our training-step loss (same keys)
            type='hrseg_plugin.WithSpeedups',
            module='FCNHead',
            in_channels=128,
            channels=64,
            num_convs=1,
            num_classes=19,
            in_index=i,
            norm_cfg=norm_cfg,
            concat_input=False,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
        for i in (1, 2)
    ],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
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
