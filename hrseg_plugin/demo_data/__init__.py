"""Synthetic street scenes for the demo configs (``tools/make_demo_data.py``).

Every image is a procedurally painted street seen from a car: sky, a skyline
at the end of the street, building facades with windows on both sides, a
road in perspective with lane markings and crossings, sidewalks, grass,
trees and hedges, walls and fences, parked and driving cars, pedestrians,
and thin poles carrying traffic signs, traffic lights and street lamps.
Objects are placed in a simple 3D world (pinhole camera over a flat ground
plane) and painted far to near, so sizes follow perspective and nearer
objects occlude farther ones. The image, the semantic label map (Cityscapes
train ids) and an instance map are painted together by :class:`Scene`, so
they always agree; each writer (:mod:`.writers`) then writes the scenes in
one data set format.

Pure numpy and OpenCV: importing this package imports no torch or OpenMMLab
module.
"""
from .classes import CITYSCAPES_CLASSES, COCO_CLASSES, IGNORE_INDEX
from .generate import (MAX_SIZE, MIN_SIZE, README_MARKER, Settings, generate,
                       render_sample, summary)
from .render import render_scene
from .sample import Sample, sample_name
from .scene import Scene
from .writers import WRITERS, Writer, register_writer

__all__ = [
    'CITYSCAPES_CLASSES', 'COCO_CLASSES', 'IGNORE_INDEX', 'MAX_SIZE',
    'MIN_SIZE', 'README_MARKER', 'Settings', 'generate', 'render_sample',
    'summary', 'render_scene', 'Sample', 'sample_name', 'Scene', 'WRITERS',
    'Writer', 'register_writer'
]
