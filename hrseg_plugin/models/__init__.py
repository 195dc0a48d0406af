from . import backbones, decode_heads, layers, necks, speedups  # noqa: F401
from .channel_check import install_build_check

# a head's / neck's in_channels is checked against our backbones' outputs
# as the model is built, by any tool or API (models/channel_check.py)
install_build_check()
