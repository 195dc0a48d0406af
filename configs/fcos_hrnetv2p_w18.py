# FCOS (GN head) with HRNetV2p-W18 (hrseg_plugin HRNet + HRFPN) on COCO, 1x
# schedule (12 epochs), 4 GPUs x 4 images: stock mmdet's
# hrnet/fcos_hrnetv2p-w18-gn-head_4xb4-1x_coco.py with our backbone and neck.
# Same state-dict layout: an mmdet model-zoo checkpoint loads after
# `tools/convert_weights.py --from mmdet`.
_base_ = [
    'mmdet::hrnet/fcos_hrnetv2p-w18-gn-head_4xb4-1x_coco.py',
    './_base_/models/hrnetv2p_w18_detection.py'
]
model = dict(backbone=_base_.hrnet_backbone, neck=_base_.hrfpn_neck)

# hrseg_plugin.engine: checkpoints written to a temporary file and renamed (a
# kill never leaves the latest one unreadable)
default_hooks = dict(checkpoint=dict(type='hrseg_plugin.AtomicCheckpointHook'))
