"""Skeletons drawn over an image for ``tools/infer.py``, without
torchvision.

Stock ``mmpose.visualization.PoseLocalVisualizer`` cannot be imported where
torchvision cannot (``mmpose.visualization`` imports
``torchvision.transforms.ToPILImage``). :class:`PoseSkeletonVisualizer`
draws what it draws for a top-down prediction, the keypoints scoring above
``kpt_thr`` and the skeleton's links between two such keypoints, in the
data set's colours (``dataset_meta``: ``skeleton_links``,
``keypoint_colors``, ``skeleton_link_colors``), with mmengine's
``Visualizer``.
"""
from typing import Optional

import numpy as np
from mmengine.visualization import Visualizer


def _rgb(color) -> tuple:
    return tuple(int(c) for c in color)


class PoseSkeletonVisualizer(Visualizer):
    """Keypoints and skeleton links of ``data_sample.pred_instances``.

    Args:
        name (str): The instance name (mmengine's ``ManagerMixin``).
        alpha (float): Opacity of the keypoints, in (0, 1].
        kpt_thr (float): Keypoints scoring below it are not drawn, nor their
            links (stock's default, 0.3).
        radius (int): Keypoint radius in pixels.
        line_width (int): Link width in pixels.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 alpha: float = 1.0,
                 kpt_thr: float = 0.3,
                 radius: int = 3,
                 line_width: int = 1):
        super().__init__(name=name)
        self.alpha = alpha
        self.kpt_thr = kpt_thr
        self.radius = radius
        self.line_width = line_width

    def draw_instance(self, keypoints: np.ndarray,
                      scores: np.ndarray) -> None:
        """Draw one person: ``keypoints`` (K, 2) in pixels, ``scores``
        (K, )."""
        meta = self.dataset_meta or {}
        k = len(keypoints)
        kpt_colors = meta.get('keypoint_colors')
        if kpt_colors is None or len(kpt_colors) != k:
            kpt_colors = [(255, 0, 0)] * k
        links = meta.get('skeleton_links') or []
        link_colors = meta.get('skeleton_link_colors')
        if link_colors is None or len(link_colors) != len(links):
            link_colors = [(0, 255, 0)] * len(links)
        shown = scores > self.kpt_thr
        for (i, j), color in zip(links, link_colors):
            if i < k and j < k and shown[i] and shown[j]:
                self.draw_lines(
                    keypoints[[i, j], 0], keypoints[[i, j], 1],
                    colors=_rgb(color), line_widths=self.line_width)
        for point, color in zip(keypoints[shown],
                                np.asarray(kpt_colors)[shown]):
            self.draw_circles(
                point[None], np.array([self.radius]), edge_colors=_rgb(color),
                face_colors=_rgb(color), alpha=self.alpha)

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample=None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       out_file: Optional[str] = None,
                       **kwargs) -> None:
        """Draw the predicted people over the RGB ``image``; write it to
        ``out_file`` (BGR, as stock), else to the visualization backends.
        Ground truth is not drawn."""
        import mmcv
        self.set_image(image)
        pred = getattr(data_sample, 'pred_instances', None)
        if draw_pred and pred is not None and 'keypoints' in pred:
            keypoints = np.asarray(pred.keypoints, dtype=np.float32)
            scores = np.asarray(
                pred.get('keypoint_scores', np.ones(keypoints.shape[:2])))
            for person, person_scores in zip(keypoints, scores):
                self.draw_instance(person, person_scores)
        drawn = self.get_image()
        if show:
            self.show(drawn, win_name=name)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn)
