"""Data transforms that turn bad training data into clear errors."""
from .image_integrity import file_truncation, jpeg_truncation
from .transforms import CheckSegLabels, LoadImageFromFile, LoadSegAnnotations

__all__ = [
    'CheckSegLabels', 'LoadImageFromFile', 'LoadSegAnnotations',
    'file_truncation', 'jpeg_truncation'
]
