# BiSeNet-R18 sized for a CPU: the model of configs/bisenet_r18.py at half
# width (ResNet-18 with 32 base channels, context path 64, FFM 128), trained
# from scratch on the generated demo scenes (tools/make_demo_data.py) with
# the data and schedule of configs/demo/hrnet_ocr.py.
_base_ = [
    '../_base_/models/bisenet_r18.py', '../_base_/datasets/demo_cityscapes.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/demo_300iters.py'
]
crop_size = (256, 256)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        spatial_channels=(32, 32, 32, 64),
        context_channels=64,
        backbone_cfg=dict(stem_channels=32, base_channels=32)),
    decode_head=dict(in_channels=[64, 64], channels=128),
    # the base's two auxiliary heads at half width
    auxiliary_head=[
        dict(head, in_channels=64, channels=32)
        for head in _base_.model.auxiliary_head
    ])
