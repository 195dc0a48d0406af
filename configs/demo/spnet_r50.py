# SPNet (strip pooling modules in the backbone, strip pooling head) sized for
# a CPU: a dilated ResNetV1c-50 (output stride 8) at a quarter of the width
# (base 16 channels), trained from scratch on the demo scenes with the data,
# schedule and seed of configs/demo/hrnet_ocr.py. Pool sizes scale with the
# 32x32 feature maps of the 256x256 crops (SPNet: (20, 12) on 64x128).
#
# Ablation with the same schedule (README):
#   --cfg-options model.backbone.plugins=None      (no SPM)
#   --cfg-options model.decode_head.num_mpms=0     (no MPM)
_base_ = [
    '../_base_/datasets/demo_cityscapes.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/demo_300iters.py'
]
custom_imports = dict(imports=['hrseg_plugin'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
crop_size = (256, 256)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        # stock mmseg's ResNetV1c, conv + BN folded in eval (same keys)
        type='hrseg_plugin.WithSpeedups', module='ResNetV1c',
        depth=50,
        stem_channels=32,
        base_channels=16,
        num_stages=4,
        out_indices=(2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        plugins=[
            dict(
                cfg=dict(type='hrseg_plugin.SPM'),
                stages=(False, False, False, True),
                position='after_conv2')
        ]),
    decode_head=dict(
        type='hrseg_plugin.StripPoolingHead',
        in_channels=512,
        in_index=1,
        mpm_channels=128,
        num_mpms=2,
        pool_sizes=(10, 6),
        channels=64,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=256,
        in_index=0,
        channels=64,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
