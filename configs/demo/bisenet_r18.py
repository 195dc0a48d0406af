# BiSeNet-R18 sized for a CPU: the model of configs/bisenet_r18.py at half
# width (ResNet-18 with 32 base channels, context path 64, FFM 128), trained
# from scratch on the generated demo scenes (tools/make_demo_data.py) with
# the data and schedule of configs/demo/hrnet_ocr.py.
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
        type='hrseg_plugin.BiSeNet',
        spatial_variant='coincheung',
        spatial_channels=(32, 32, 32, 64),
        context_channels=64,
        backbone_cfg=dict(
            # stock mmseg's ResNet, conv + BN folded in eval (same keys)
            type='ResNet',
            depth=18,
            stem_channels=32,
            base_channels=32,
            out_indices=(0, 1, 2, 3),
            norm_cfg=norm_cfg,
            style='pytorch'),
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='hrseg_plugin.FFMHead',
        in_channels=[64, 64],
        channels=128,
        num_convs=1,
        attention_cfg=dict(
            reduction=None, norm_cfg=norm_cfg, act_before_sigmoid=True),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=[
        dict(
            # stock FCNHead with our training-step loss (same keys)
            type='hrseg_plugin.WithSpeedups',
            module='FCNHead',
            in_channels=64,
            channels=32,
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
