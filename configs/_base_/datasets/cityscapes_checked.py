# Stock mmseg's Cityscapes settings (mmseg::_base_/datasets/cityscapes.py),
# with our checked loaders in place of mmcv's LoadImageFromFile and mmseg's
# LoadAnnotations (same arguments and outputs): an unreadable image, or a
# label outside [0, 19) that is not 255 (labelIds instead of labelTrainIds),
# fails naming the file. To skip unreadable images instead:
#   --cfg-options train_dataloader.dataset.pipeline.0.skip_unreadable=True
# (hrseg_plugin.SkippedImagesHook reports the total).
_base_ = ['mmseg::_base_/datasets/cityscapes.py']
crop_size = (512, 1024)
num_classes = 19
train_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(type='hrseg_plugin.LoadSegAnnotations', num_classes=num_classes),
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
test_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='hrseg_plugin.LoadSegAnnotations', num_classes=num_classes),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
# mmseg's MMSegInferencer finds the image loader of the test pipeline by its
# type name 'LoadImageFromFile' (and refuses a config without it): the test
# loader keeps mmcv's name; tools/test.py swaps the checked one back in.
test_dataloader = dict(dataset=dict(
    pipeline=[dict(type='LoadImageFromFile')] + test_pipeline[1:]))
