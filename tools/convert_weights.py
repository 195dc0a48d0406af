#!/usr/bin/env python
"""Convert third-party weights to hrseg_plugin checkpoints.

Usage::

    python tools/convert_weights.py \\
        --from {mmseg,mmdet,mmpose,mmpretrain,timm,hrnet-official,
               bisenet-coincheung} \\
        IN.pth OUT.pth [--config CONFIG] [--cfg-options K=V ...]

Exit status: 0 converted; 2 refused (bad input, key / shape mismatch,
mismatch with ``--config``, an unwritable OUT) or usage error, with one
``convert_weights.py: error: ...`` line as the other tools. The command line is
:mod:`hrseg_plugin.converters.cli`; the converters are the modules of
:mod:`hrseg_plugin.converters`.
"""
import sys

from hrseg_plugin.converters.cli import main

if __name__ == '__main__':
    sys.exit(main())
