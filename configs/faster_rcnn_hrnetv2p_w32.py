# Faster R-CNN with HRNetV2p-W32 (hrseg_plugin HRNet + HRFPN) on COCO, 1x
# schedule (12 epochs): stock mmdet's hrnet/faster-rcnn_hrnetv2p-w32-1x_coco.py
# with our backbone and neck. Same state-dict layout: an mmdet model-zoo
# checkpoint loads after `tools/convert_weights.py --from mmdet`.
_base_ = 'mmdet::hrnet/faster-rcnn_hrnetv2p-w32-1x_coco.py'
custom_imports = dict(imports=['hrseg_plugin'], allow_failed_imports=False)
default_scope = 'mmdet'
model = dict(
    backbone=dict(
        _delete_=True,
        type='hrseg_plugin.HRNet',
        arch='w32',
        norm_eval=True,  # stock mmdet HRNet keeps BN statistics frozen
        upsample_cfg=dict(mode='nearest'),  # stock mmdet HRNet's fuse
        init_cfg=dict(
            type='hrseg_plugin.CheckedPretrained',
            checkpoint='open-mmlab://msra/hrnetv2_w32')),
    # V2p: our HRFPN takes stock's arguments (in_channels [32, 64, 128, 256],
    # out_channels 256 come from the base)
    neck=dict(type='hrseg_plugin.HRFPN'))

# hrseg_plugin.engine: checkpoints written to a temporary file and renamed (a
# kill never leaves the latest one unreadable); training stops at the first
# NaN/Inf loss, naming the loss term
default_hooks = dict(checkpoint=dict(type='hrseg_plugin.AtomicCheckpointHook'))
custom_hooks = [dict(type='hrseg_plugin.NonFiniteLossHook')]
