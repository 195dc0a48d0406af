# BiSeNet with a ResNet-101 context path on Cityscapes, 1024x1024 crops, 160k
# iterations: the widths of stock mmseg's BiSeNetV1-R50/R101 (context path
# 512, spatial path (256, 256, 256, 512), FFM 1024) and the recipe of its
# bisenetv1_r50-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024 (lr 0.05),
# with stock's ImageNet-pretrained `open-mmlab://resnet101_v1c`.
# Stock points that checkpoint at a `ResNet` context backbone, whose stem
# (conv1/bn1) does not match the checkpoint's deep stem (stem.*) and then
# stays random; here the backbone is the `ResNetV1c` the checkpoint is for.
# (For a stock BiSeNetV1-R101 checkpoint, trained with `ResNet`, use
# --cfg-options model.backbone.backbone_cfg.type=ResNet.)
_base_ = './bisenet_r18.py'
# no stock mmseg twin of this model for tools/benchmark.py --compare-stock
stock_equivalent = None
model = dict(
    backbone=dict(
        spatial_channels=(256, 256, 256, 512),
        context_channels=512,
        backbone_cfg=dict(
            type='ResNetV1c',
            depth=101,
            init_cfg=dict(
                type='hrseg_plugin.CheckedPretrained',
                checkpoint='open-mmlab://resnet101_v1c'))),
    decode_head=dict(in_channels=[512, 512], channels=1024),
    # the base's two auxiliary heads at R101's widths (mmengine replaces a
    # list when a config inherits, so they are derived, not written again)
    auxiliary_head=[
        dict(head, in_channels=512, channels=256)
        for head in _base_.model.auxiliary_head
    ])
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer)
