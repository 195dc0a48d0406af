# Stock mmseg's PASCAL-Context 59-class settings
# (mmseg::_base_/datasets/pascal_context_59.py), with our checked loaders in
# place of mmcv's LoadImageFromFile and mmseg's LoadAnnotations (same
# arguments and outputs): an unreadable image fails naming the file, and a
# label that is not in [0, 59) or 255 after reduce_zero_label (background
# 0 -> 255, 1..59 -> 0..58) fails naming the file and the values (a 60-class
# label file of the full PASCAL-Context, for instance). To skip unreadable
# images instead:
#   --cfg-options train_dataloader.dataset.pipeline.0.skip_unreadable=True
_base_ = ['mmseg::_base_/datasets/pascal_context_59.py']
img_scale = (520, 520)
crop_size = (480, 480)
num_classes = 59
train_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(
        type='hrseg_plugin.LoadSegAnnotations',
        reduce_zero_label=True,
        num_classes=num_classes),
    dict(
        type='RandomResize',
        scale=img_scale,
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(
        type='hrseg_plugin.LoadSegAnnotations',
        reduce_zero_label=True,
        num_classes=num_classes),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
# mmseg's MMSegInferencer finds the image loader of the test pipeline by its
# type name 'LoadImageFromFile' (and refuses a config without it): the test
# loader keeps mmcv's name; tools/test.py swaps the checked one back in.
test_dataloader = dict(dataset=dict(
    pipeline=[dict(type='LoadImageFromFile')] + test_pipeline[1:]))
