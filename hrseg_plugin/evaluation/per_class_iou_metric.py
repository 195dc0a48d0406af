"""mIoU with the IoU of every class in the returned metrics."""
from typing import Dict, List

import torch
from mmseg.evaluation import IoUMetric

from hrseg_plugin.registry import METRICS


@METRICS.register_module()
class PerClassIoUMetric(IoUMetric):
    """Stock mmseg ``IoUMetric`` (same arguments, same aAcc / mIoU / mAcc)
    that also returns ``IoU.<class name>`` for every class, in percent, so
    that per-class results reach the log, ``scalars.json`` and
    ``tools/test.py --out``: stock only prints them as a table.

    A class absent from both the labels and the predictions gets NaN.
    """

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Compute the metrics.

        Args:
            results (list[tuple]): Per image: area of intersection, union,
                prediction and label per class (``IoUMetric.process``).

        Returns:
            dict[str, float]: Stock metrics plus ``IoU.<class>``.
        """
        metrics = super().compute_metrics(results)
        intersect = sum(r[0] for r in results)
        union = sum(r[1] for r in results)
        iou = intersect / union.clamp_min(1)
        iou[union == 0] = torch.nan
        for name, value in zip(self.dataset_meta['classes'], iou.tolist()):
            metrics[f'IoU.{name}'] = round(value * 100, 2)
        return metrics
