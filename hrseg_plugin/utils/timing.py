"""Wall-clock timing of a call, as the benchmark tools report it."""
import statistics
import time
from typing import Callable


def median_seconds(fn: Callable[[], object],
                   repeat: int,
                   warmup: int = 2) -> float:
    """Median wall seconds of ``repeat`` calls of ``fn``.

    Args:
        fn (Callable): The call to time, without arguments.
        repeat (int): How many timed calls.
        warmup (int): Untimed calls first (allocator, oneDNN primitive
            caches, onnxruntime's first run).

    Returns:
        float: The median of the timed calls, in seconds.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
