from . import backbones, decode_heads, layers, necks, speedups  # noqa: F401
