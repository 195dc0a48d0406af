"""What ``tools/infer.py`` needs from MMPose and MMPretrain in the form the
other libraries give it (one data sample per image; a visualizer with
``add_datasample`` taking ``alpha``): the ``mmpose`` / ``mmpretrain``
:class:`~hrseg_plugin.apis.config.TaskSpec` entries point here.

Imported only when used. MMPretrain's ``apis`` import torchvision; the pose
functions here do not need it (see :func:`mmpose_inference`).
"""
import functools


@functools.lru_cache(maxsize=None)
def mmpose_inference():
    """The module ``mmpose.apis.inference`` (``init_model``,
    ``inference_topdown``), loaded from its file without running
    ``mmpose/apis/__init__.py``: that also imports mmpose's inferencers
    and, through them, ``mmpose.visualization``, which imports torchvision.
    The module itself imports only mmengine, mmpose's models, datasets and
    structures, none of which needs torchvision."""
    import importlib.util
    import os.path as osp

    import mmpose
    path = osp.join(osp.dirname(mmpose.__file__), 'apis', 'inference.py')
    spec = importlib.util.spec_from_file_location(
        'hrseg_plugin_mmpose_inference', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def init_pose_model(config, checkpoint=None, device='cpu'):
    """``mmpose.apis.init_model`` (see :func:`mmpose_inference`)."""
    return mmpose_inference().init_model(
        config, checkpoint=checkpoint, device=device)


def pose_topdown(model, img):
    """Top-down pose estimation on the whole image as one person box
    (``mmpose.apis.inference_topdown`` without boxes, see
    :func:`mmpose_inference`), as one ``PoseDataSample``.

    Args:
        model (nn.Module): A top-down pose estimator
            (:func:`init_pose_model`).
        img (np.ndarray): A BGR image.

    Returns:
        PoseDataSample: The merged prediction.
    """
    from mmpose.structures import merge_data_samples
    return merge_data_samples(mmpose_inference().inference_topdown(model, img))


def pose_visualizer(name: str, alpha: float = 1.0):
    """:class:`~hrseg_plugin.apis.pose_visualizer.PoseSkeletonVisualizer`
    (stock's ``PoseLocalVisualizer`` imports torchvision)."""
    from .pose_visualizer import PoseSkeletonVisualizer
    return PoseSkeletonVisualizer(name=name, alpha=alpha)


def init_classifier(config, checkpoint=None, device=None):
    """``mmpretrain.apis.init_model``, with the dataset meta (class names)
    it keeps in ``_dataset_meta`` also as ``dataset_meta``, where the tools
    read it for mmseg / mmdet / mmpose models."""
    from mmpretrain.apis import init_model
    model = init_model(config, checkpoint=checkpoint, device=device)
    model.dataset_meta = dict(getattr(model, '_dataset_meta', None) or {})
    return model


def classify(model, img):
    """Classify one image with mmpretrain's inferencer (the config's test
    pipeline).

    Args:
        model (nn.Module): An mmpretrain classifier
            (``mmpretrain.apis.init_model``).
        img (np.ndarray): A BGR image.

    Returns:
        DataSample: The prediction (``pred_label``, ``pred_score``).
    """
    from mmpretrain.apis import ImageClassificationInferencer
    inferencer = ImageClassificationInferencer(model)
    return inferencer(img, return_datasamples=True)[0]


def cls_visualizer(name: str, alpha: float = 1.0):
    """mmpretrain's ``UniversalVisualizer`` with the ``add_datasample``
    the tools call (it draws through ``visualize_cls``; ``alpha`` has no
    use for a class label and is ignored)."""
    from mmpretrain.visualization import UniversalVisualizer

    class ClsVisualizer(UniversalVisualizer):

        def add_datasample(self, name, image, data_sample=None,
                           draw_gt=True, draw_pred=True, show=False,
                           out_file=None, **kwargs):
            classes = (self.dataset_meta or {}).get('classes')
            return self.visualize_cls(
                image, data_sample, classes=classes, draw_gt=draw_gt,
                draw_pred=draw_pred, show=show, out_file=out_file,
                name=name)

    return ClsVisualizer(name=name)
