# ImageNet-1k classification with HRNet-W32 (the ImageNet pretraining of the
# segmentation, detection and pose backbones): stock mmpretrain's
# hrnet/hrnet-w32_4xb32_in1k.py with our backbone and classification neck
# (tests/test_classification.py checks that nothing else differs). Same
# state-dict layout as mmpretrain's (`--from mmpretrain` copies); timm's and
# the official HRNet-Image-Classification checkpoints convert with
# `tools/convert_weights.py --from timm`.
_base_ = 'mmpretrain::hrnet/hrnet-w32_4xb32_in1k.py'
custom_imports = dict(imports=['hrseg_plugin'], allow_failed_imports=False)
default_scope = 'mmpretrain'
model = dict(
    backbone=dict(
        _delete_=True,
        type='hrseg_plugin.HRNet',
        arch='w32',
        upsample_cfg=dict(mode='nearest')),  # stock mmpretrain HRNet's fuse
    neck=[
        # = mmpretrain's HRFuseScales (keys, shapes, outputs), initialised as
        # it is (its default init_cfg)
        dict(
            type='hrseg_plugin.HRNetClsNeck',
            in_channels=(32, 64, 128, 256),
            global_pool=False,
            init_cfg=dict(type='Normal', layer='Linear', std=0.01)),
        dict(type='GlobalAveragePooling'),
    ])

# the same classifier in stock mmpretrain (tools/benchmark.py --compare-stock)
stock_equivalent = 'mmpretrain::hrnet/hrnet-w32_4xb32_in1k.py'

# hrseg_plugin.engine: checkpoints written to a temporary file and renamed (a
# kill never leaves the latest one unreadable); training stops at the first
# NaN/Inf loss, naming the loss term
default_hooks = dict(checkpoint=dict(type='hrseg_plugin.AtomicCheckpointHook'))
custom_hooks = [dict(type='hrseg_plugin.NonFiniteLossHook')]
