# BiSeNet with the Xception39 context path, the paper's fastest model, on
# Cityscapes, 1024x1024 crops, 160k iterations (stock BiSeNetV1 recipe).
# Model as the authors' TorchSeg (cityscapes.bisenet.X39): 'coincheung'
# spatial path (7x7/2, 3x3/2, 3x3/2, 1x1 to 128), context width 128 with
# bilinear (align_corners=True) upsampling, FFM attention C -> C -> C without
# norm, auxiliary heads of width 128. No ImageNet-pretrained Xception39 is in
# the OpenMMLab model zoo: the context backbone trains from scratch, as the
# stock R-18 config does.
_base_ = './bisenet_r18.py'
# no stock mmseg twin of this model for tools/benchmark.py --compare-stock
stock_equivalent = None
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        backbone_cfg=dict(
            _delete_=True, type='hrseg_plugin.Xception39', norm_cfg=norm_cfg),
        upsample_cfg=dict(mode='bilinear', align_corners=True)),
    decode_head=dict(attention_cfg=dict(_delete_=True, reduction=1)),
    auxiliary_head=[
        dict(
            # stock FCNHead with our training-step loss (same keys)
            type='hrseg_plugin.WithSpeedups',
            module='FCNHead',
            in_channels=128,
            channels=128,
            num_convs=1,
            num_classes=19,
            in_index=i,
            norm_cfg=norm_cfg,
            concat_input=False,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
        for i in (1, 2)
    ])
