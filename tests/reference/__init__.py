"""Reference implementations of third-party models, used only by the tests.

Each module here re-implements an upstream model in plain PyTorch with the
upstream module/parameter names, so that its ``state_dict`` has the upstream
checkpoint key names. They are the "original model in its own code" that the
weight converters in :mod:`hrseg_plugin.converters` are checked against.
"""
