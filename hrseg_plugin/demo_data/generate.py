"""Generating the demo data set: settings, the per-scene work of a worker
process, and the orchestration of rendering and writers."""
import functools
import multiprocessing
import shutil
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .render import render_scene
from .sample import Sample
from .writers import WRITERS

SPLIT_STREAMS = {'train': 0, 'val': 1}  # keeps train and val scenes distinct
MIN_SIZE = 64
MAX_SIZE = 4096
README_MARKER = 'Synthetic street scenes written by tools/make_demo_data.py'


@dataclass(frozen=True)
class Settings:
    """What to generate.

    Args:
        out (str | Path): output folder.
        seed (int): random seed, >= 0.
        num_train (int): number of training scenes.
        num_val (int): number of validation scenes.
        size (tuple[int, int]): image (height, width), each side in
            [MIN_SIZE, MAX_SIZE].
        workers (int): worker processes; the output does not depend on it.
    """
    out: Path
    seed: int = 0
    num_train: int = 60
    num_val: int = 20
    size: tuple = (256, 512)
    workers: int = 1


def render_sample(job, seed, size, writers):
    """Render scene ``index`` of ``split`` and encode it for every writer.
    Runs in a worker process; depends on (seed, split, index) only.

    Args:
        job (tuple[str, int]): (split, index).
        seed (int): the data set's seed.
        size (tuple[int, int]): image (height, width).
        writers (Sequence[type]): the writer classes.

    Returns:
        list: the payload of each writer, in the order of ``writers``.
    """
    split, index = job
    rng = np.random.default_rng((seed, SPLIT_STREAMS[split], index))
    sample = Sample(split, index, *render_scene(rng, *size))
    return [writer.encode(sample) for writer in writers]


def prepare_out(out, subdirs):
    """Create OUT; replace an earlier run's output, refuse anything else.

    Args:
        out (Path): the output folder.
        subdirs (Sequence[str]): the writers' folders under it.

    Raises:
        ValueError: OUT is not a folder, or holds one of ``subdirs`` that
            an earlier run of this generator did not write.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f'--out {out} exists and is not a directory')
    ours = (out / 'README.txt').is_file() and (
        out / 'README.txt').read_text().startswith(README_MARKER)
    for sub in dict.fromkeys(subdirs):
        if (out / sub).exists():
            if not ours:
                raise ValueError(
                    f'{out / sub} exists but was not written by this script '
                    f'(no {out / "README.txt"} of ours); refusing to '
                    'overwrite')
            shutil.rmtree(out / sub)
    out.mkdir(parents=True, exist_ok=True)


def readme_text(settings, writers):
    """``OUT/README.txt``: how to regenerate, then each writer's section."""
    h, w = settings.size
    s = settings
    head = f"""{README_MARKER}
(seed {s.seed}, {s.num_train} train + {s.num_val} val images, {h}x{w} px).
Regenerate with:
    python tools/make_demo_data.py --out <this folder> --seed {s.seed} \
--num-train {s.num_train} --num-val {s.num_val} --size {h} {w}
"""
    return head + ''.join('\n' + writer.readme() for writer in writers)


def generate(settings, progress=None):
    """Render the scenes and write them in every registered format.

    Scene ``i`` of a split is drawn from its own random generator seeded
    with ``(seed, split, i)``: the output is a pure function of the settings
    (byte for byte), whatever the number of scenes or workers.

    Args:
        settings (Settings): what to generate.
        progress (callable, optional): wraps the iterator of rendered
            scenes, called as ``progress(iterable, total)`` (a progress
            bar); None for none.

    Returns:
        list[Writer]: the finished writers, for :func:`summary`.

    Raises:
        ValueError: the output folder cannot be used (see
            :func:`prepare_out`).
    """
    out = Path(settings.out)
    prepare_out(out, [cls.subdir for cls in WRITERS])
    writers = [cls(settings) for cls in WRITERS]
    jobs = [('train', i) for i in range(settings.num_train)] + \
        [('val', i) for i in range(settings.num_val)]
    render = functools.partial(render_sample, seed=settings.seed,
                               size=tuple(settings.size),
                               writers=tuple(WRITERS))
    workers = min(settings.workers, len(jobs))
    with (multiprocessing.Pool(workers) if workers > 1 else
          nullcontext()) as pool:
        results = pool.imap(render, jobs) if pool else map(render, jobs)
        if progress is not None:
            results = progress(results, len(jobs))
        for (split, index), payloads in zip(jobs, results):
            for writer, payload in zip(writers, payloads):
                writer.add(split, index, payload)
    for writer in writers:
        writer.finish()
    (out / 'README.txt').write_text(readme_text(settings, writers))
    return writers


def summary(settings, writers, seconds):
    """The one-paragraph report of a run.

    Args:
        settings (Settings): what was generated.
        writers (list[Writer]): the finished writers.
        seconds (float): how long it took.

    Returns:
        str: counts, size, seed and time, each writer's statistics, and
        where each set is.
    """
    h, w = settings.size
    where = '; '.join(
        [writer.location() for writer in writers] +
        [f'layout described in {Path(settings.out) / "README.txt"}'])
    return ' '.join(
        [f'Wrote {settings.num_train} train + {settings.num_val} val '
         f'synthetic street scenes of {h}x{w} px (seed {settings.seed}) in '
         f'{seconds:.1f} s.'] +
        [writer.statistics() for writer in writers] +
        [where[:1].upper() + where[1:] + '.'])
