# ImageNet-1k classification with HRNet-W32: configs/cls_hrnet_w18_in1k.py at
# width 32, which makes it stock mmpretrain's hrnet/hrnet-w32_4xb32_in1k.py
# (it differs from the W18 one in the model's widths only) with our backbone
# and classification neck. Same state-dict layout: `--from mmpretrain`
# copies; timm's and the official checkpoints convert with `--from timm`.
_base_ = './cls_hrnet_w18_in1k.py'
hrnet_neck, pooling = _base_.model.neck
model = dict(
    backbone=dict(arch='w32'),
    neck=[dict(hrnet_neck, in_channels=(32, 64, 128, 256)), pooling])
del hrnet_neck, pooling

# the same classifier in stock mmpretrain (tools/benchmark.py --compare-stock)
stock_equivalent = 'mmpretrain::hrnet/hrnet-w32_4xb32_in1k.py'
