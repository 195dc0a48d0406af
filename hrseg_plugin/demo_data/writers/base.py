"""What a writer of the demo scenes is, and the list of writers."""
from pathlib import Path

WRITERS = []  # the writer classes, in the order they were registered


def register_writer(cls):
    """Class decorator: add a :class:`Writer` subclass to :data:`WRITERS`.

    Writers run, and their README sections and summaries appear, in
    registration order, i.e. the order in which ``writers/__init__.py``
    imports their modules.
    """
    WRITERS.append(cls)
    return cls


class Writer:
    """One output format of the demo scenes, written under ``OUT/<subdir>``.

    A writer works in two places. :meth:`encode` runs in the worker process
    that rendered a scene and turns the :class:`~..sample.Sample` into a
    small picklable payload (encoded files, annotations, statistics);
    :meth:`add` runs in the main process, once per scene in a fixed order,
    and writes that payload. :meth:`finish` then writes what covers a whole
    split (annotation files). Output must depend on the settings only, not on
    the number of workers.

    To add a format: a new module in this package with a subclass decorated
    with :func:`register_writer`, and one import line for it in
    ``writers/__init__.py``.

    Args:
        settings (Settings): what is generated (output folder, seed, split
            sizes, image size).
    """
    subdir = ''  # folder under OUT, removed and rewritten on each run

    def __init__(self, settings):
        self.settings = settings
        self.root = Path(settings.out) / self.subdir

    @staticmethod
    def encode(sample):
        """Worker side: the payload :meth:`add` needs for one scene.

        Args:
            sample (Sample): the rendered scene.

        Returns:
            object: anything picklable.
        """
        raise NotImplementedError

    def add(self, split, index, payload):
        """Main process: write one scene.

        Args:
            split (str): 'train' or 'val'.
            index (int): the scene's index in its split (name it with
                :func:`~..sample.sample_name`).
            payload: what :meth:`encode` returned for it.
        """
        raise NotImplementedError

    def finish(self):
        """Write what covers all scenes (annotation files); nothing by
        default."""

    def readme(self):
        """This format's section of ``OUT/README.txt``.

        Returns:
            str: its lines, each ending with a newline.
        """
        raise NotImplementedError

    def statistics(self):
        """What was written, for the summary line.

        Returns:
            str: one sentence.
        """
        raise NotImplementedError

    def location(self):
        """What is where, for the summary line.

        Returns:
            str: e.g. 'instance set (mmdet CocoDataset): data/demo/coco'.
        """
        raise NotImplementedError
