"""Test subprocesses only: install the torchvision stub at interpreter
start-up when the real torchvision cannot be imported (see
``tests/torchvision_stub.py``). Put this folder first on ``PYTHONPATH``,
e.g. ``PYTHONPATH=tests/stub_site python tools/benchmark.py ...``; never on
a user's path."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
try:
    import torchvision_stub
finally:
    sys.path.pop(0)
torchvision_stub.install_if_unusable()
