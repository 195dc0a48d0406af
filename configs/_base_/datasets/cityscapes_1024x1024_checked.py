# configs/_base_/datasets/cityscapes_checked.py with 1024x1024 crops, as
# mmseg::_base_/datasets/cityscapes_1024x1024.py (the only change).
_base_ = ['./cityscapes_checked.py']
crop_size = (1024, 1024)
train_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(type='hrseg_plugin.LoadSegAnnotations', num_classes=19),
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
