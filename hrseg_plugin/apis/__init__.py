"""High-level helpers for running hrseg_plugin models.

Submodules are imported on demand so that ``import hrseg_plugin.apis`` stays
cheap (no torch / mmseg / mmdet import):

* :mod:`hrseg_plugin.apis.runner_utils`: the code shared by
  ``tools/train.py``, ``tools/test.py`` and ``tools/infer.py`` (config
  loading, ``--cfg-options`` merging, the ``default_scope`` check, runner
  construction, AMP / resume handling, the mmseg-or-mmdet inference and
  visualization dispatch).
"""
