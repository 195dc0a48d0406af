"""The scenes as a semantic segmentation set in the Cityscapes layout."""
import numpy as np

from ..classes import CITYSCAPES_CLASSES, IGNORE_INDEX
from ..sample import CITIES, encode_png, sample_name
from .base import Writer, register_writer


@register_writer
class CityscapesWriter(Writer):
    """Images and label maps in the Cityscapes folder layout and file naming,
    readable by mmseg's stock ``CityscapesDataset``::

        OUT/cityscapes/
            leftImg8bit/{train,val}/<city>/<stem>_leftImg8bit.png
            gtFine/{train,val}/<city>/<stem>_gtFine_labelTrainIds.png

    It also counts the pixels of every class for the summary.
    """
    subdir = 'cityscapes'

    def __init__(self, settings):
        super().__init__(settings)
        self.pixel_counts = np.zeros(256, np.int64)

    @staticmethod
    def encode(sample):
        """(image PNG, label PNG, per-value pixel counts of the label)."""
        return (sample.image_png, encode_png(sample.label),
                np.bincount(sample.label.ravel(), minlength=256))

    def add(self, split, index, payload):
        image_png, label_png, counts = payload
        city, stem = sample_name(split, index)
        img_dir = self.root / 'leftImg8bit' / split / city
        gt_dir = self.root / 'gtFine' / split / city
        for d in (img_dir, gt_dir):
            d.mkdir(parents=True, exist_ok=True)
        (img_dir / f'{stem}_leftImg8bit.png').write_bytes(image_png)
        (gt_dir / f'{stem}_gtFine_labelTrainIds.png').write_bytes(label_png)
        self.pixel_counts += counts

    def readme(self):
        return f"""\
cityscapes/  semantic segmentation, Cityscapes layout (mmseg CityscapesDataset)
    leftImg8bit/{{train,val}}/<city>/<city>_<seq>_<frame>_leftImg8bit.png
        RGB street scenes (PNG)
    gtFine/{{train,val}}/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png
        uint8 label maps, Cityscapes train ids 0..18, 255 = ignore
    cities: train {', '.join(CITIES['train'])}; val {', '.join(CITIES['val'])}
    classes: {', '.join(f'{i} {c}' for i, c in enumerate(CITYSCAPES_CLASSES))}
"""

    def statistics(self):
        counts = self.pixel_counts
        total = counts.sum()
        fractions = ', '.join(
            f'{name} {100 * counts[i] / total:.1f}%'
            for i, name in enumerate(CITYSCAPES_CLASSES) if counts[i])
        return (f'Class pixel fractions: {fractions}, ignore '
                f'{100 * counts[IGNORE_INDEX] / total:.1f}%.')

    def location(self):
        return f'segmentation set (mmseg CityscapesDataset): {self.root}'
