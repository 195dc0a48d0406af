# HRNetV2p-W18 for stock mmdet detectors: hrseg_plugin's HRNet and HRFPN as
# variables, not a `model` (a detection config's stock mmdet base gives the
# detector, and mmengine refuses a key that two bases both set). A config
# lists this file after its mmdet base and sets
#   model = dict(backbone=_base_.hrnet_backbone, neck=_base_.hrfpn_neck)
# The variables stay in the merged config as they are here (W18); the wider
# configs change the model's copy only.
custom_imports = dict(imports=['hrseg_plugin'], allow_failed_imports=False)
hrnet_backbone = dict(
    _delete_=True,  # replaces stock mmdet's HRNet and its arguments
    type='hrseg_plugin.HRNet',
    arch='w18',
    norm_eval=True,  # stock mmdet HRNet keeps BN statistics frozen
    upsample_cfg=dict(mode='nearest'),  # stock mmdet HRNet's fuse
    init_cfg=dict(
        type='hrseg_plugin.CheckedPretrained',
        checkpoint='open-mmlab://msra/hrnetv2_w18'))
# V2p: our HRFPN takes stock's arguments (in_channels [18, 36, 72, 144],
# out_channels 256, and FCOS's stride 2 come from the mmdet base)
hrfpn_neck = dict(type='hrseg_plugin.HRFPN')
# hrseg_plugin.engine: training stops at the first NaN/Inf loss, naming the
# loss term
custom_hooks = [dict(type='hrseg_plugin.NonFiniteLossHook')]
