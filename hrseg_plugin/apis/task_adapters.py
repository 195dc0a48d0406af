"""What ``tools/infer.py`` needs from MMPose and MMPretrain in the form the
other libraries give it (one data sample per image; a visualizer with
``add_datasample`` taking ``alpha``): the ``mmpose`` / ``mmpretrain``
:class:`~hrseg_plugin.apis.config.TaskSpec` entries point here.

Imported only when used (both libraries' ``apis`` import torchvision).
"""


def pose_topdown(model, img):
    """Top-down pose estimation on the whole image as one person box
    (``mmpose.apis.inference_topdown`` without boxes), as one
    ``PoseDataSample``.

    Args:
        model (nn.Module): A top-down pose estimator
            (``mmpose.apis.init_model``).
        img (np.ndarray): A BGR image.

    Returns:
        PoseDataSample: The merged prediction.
    """
    from mmpose.apis import inference_topdown
    from mmpose.structures import merge_data_samples
    return merge_data_samples(inference_topdown(model, img))


def pose_visualizer(name: str, alpha: float = 1.0):
    """mmpose's ``PoseLocalVisualizer`` that applies a ``dataset_meta``
    assigned as an attribute (as the tools assign the model's) the way its
    ``set_dataset_meta`` does: keypoint and link colours and the skeleton's
    links, which it draws only then (plain assignment leaves them unset:
    red dots, no skeleton)."""
    from mmpose.visualization import PoseLocalVisualizer

    class PoseVisualizer(PoseLocalVisualizer):

        @property
        def dataset_meta(self):
            return self._dataset_meta

        @dataset_meta.setter
        def dataset_meta(self, meta):
            self._dataset_meta = meta
            if meta:
                self.bbox_color = meta.get('bbox_color', self.bbox_color)
                self.kpt_color = meta.get('keypoint_colors', self.kpt_color)
                self.link_color = meta.get('skeleton_link_colors',
                                           self.link_color)
                self.skeleton = meta.get('skeleton_links', self.skeleton)

    return PoseVisualizer(name=name, alpha=alpha)


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
