# SPNet with a dilated ResNetV1c-101, SPNet's headline backbone; everything
# else as configs/spnet_r50.py.
_base_ = './spnet_r50.py'
model = dict(
    backbone=dict(
        depth=101, init_cfg=dict(checkpoint='open-mmlab://resnet101_v1c')))
