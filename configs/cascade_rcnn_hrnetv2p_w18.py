# Cascade R-CNN with HRNetV2p-W18 (hrseg_plugin HRNet + HRFPN) on COCO,
# 20-epoch schedule: stock mmdet's hrnet/cascade-rcnn_hrnetv2p-w18-20e_coco.py
# with our backbone and neck. Same state-dict layout: an mmdet model-zoo
# checkpoint loads after `tools/convert_weights.py --from mmdet`.
_base_ = [
    'mmdet::hrnet/cascade-rcnn_hrnetv2p-w18-20e_coco.py',
    './_base_/models/hrnetv2p_w18_detection.py'
]
model = dict(backbone=_base_.hrnet_backbone, neck=_base_.hrfpn_neck)

# hrseg_plugin.engine: checkpoints written to a temporary file and renamed (a
# kill never leaves the latest one unreadable)
default_hooks = dict(checkpoint=dict(type='hrseg_plugin.AtomicCheckpointHook'))
