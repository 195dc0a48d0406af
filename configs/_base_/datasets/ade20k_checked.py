# Stock mmseg's ADE20K settings (mmseg::_base_/datasets/ade20k.py), with our
# checked loaders in place of mmcv's LoadImageFromFile and mmseg's
# LoadAnnotations (same arguments and outputs): an unreadable image fails
# naming the file, and a label that is not in [0, 150) or 255 after
# reduce_zero_label (0 -> 255, 1..150 -> 0..149) fails naming the file and
# the values. To skip unreadable images instead:
#   --cfg-options train_dataloader.dataset.pipeline.0.skip_unreadable=True
# (hrseg_plugin.SkippedImagesHook reports the total).
_base_ = ['mmseg::_base_/datasets/ade20k.py']
crop_size = (512, 512)
num_classes = 150
train_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(
        type='hrseg_plugin.LoadSegAnnotations',
        reduce_zero_label=True,
        num_classes=num_classes),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
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
