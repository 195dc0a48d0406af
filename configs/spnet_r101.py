# SPNet with a dilated ResNetV1c-101, SPNet's headline backbone; everything
# else as configs/spnet_r50.py.
_base_ = './spnet_r50.py'
model = dict(
    pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
