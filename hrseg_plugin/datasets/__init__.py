"""Data transforms that turn bad training data into clear errors."""
from .transforms import CheckSegLabels, LoadImageFromFile, LoadSegAnnotations

__all__ = ['CheckSegLabels', 'LoadImageFromFile', 'LoadSegAnnotations']
