"""``tools/test.py``'s metrics: printed, and written as JSON."""
import json
import math
import os
import os.path as osp
from typing import Any, Dict

#: Name of the metrics file ``test.py --out DIR`` writes.
METRICS_FILE = 'metrics.json'


def to_builtin(value: Any) -> Any:
    """Convert metric values (numpy / torch scalars and arrays, tuples) to
    JSON-compatible Python objects; NaN and infinities become None."""
    if isinstance(value, dict):
        return {str(k): to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_builtin(v) for v in value]
    if hasattr(value, 'tolist'):  # numpy / torch
        return to_builtin(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    try:
        return to_builtin(float(value))
    except (TypeError, ValueError):
        return str(value)


def format_metrics(metrics: Dict[str, Any]) -> str:
    """One ``name: value`` line per metric."""
    lines = []
    for name, value in to_builtin(metrics).items():
        if isinstance(value, float):
            value = f'{value:.4f}'
        lines.append(f'{name}: {value}')
    return '\n'.join(lines)


def dump_metrics(metrics: Dict[str, Any], out_dir: str) -> str:
    """Write the metrics to ``out_dir/metrics.json`` and return its path."""
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, METRICS_FILE)
    with open(path, 'w') as f:
        json.dump(to_builtin(metrics), f, indent=2, sort_keys=True)
        f.write('\n')
    return path
