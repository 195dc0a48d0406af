# BiSeNet (Yu et al., ECCV 2018) with a ResNet-18 context path and the
# Feature Fusion Module as decode head: the model of stock mmseg's
# bisenetv1_r18-d32 (configs/bisenet_r18.py, configs/demo/bisenet_r18.py).
custom_imports = dict(imports=['hrseg_plugin'], allow_failed_imports=False)
# SyncBN as stock; mmengine reverts it to BN in one non-distributed process.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
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
