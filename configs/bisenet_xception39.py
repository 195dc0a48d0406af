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
    # the base's two auxiliary heads, 128 channels wide
    auxiliary_head=[
        dict(head, channels=128) for head in _base_.model.auxiliary_head
    ])
