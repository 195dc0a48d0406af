"""Report how many unreadable images were skipped, all workers together."""
import logging

from mmengine.hooks import Hook
from mmengine.logging import print_log

from hrseg_plugin.datasets.transforms import skipped_images
from hrseg_plugin.registry import HOOKS


@HOOKS.register_module()
class SkippedImagesHook(Hook):
    """Log the number of images ``hrseg_plugin.LoadImageFromFile(
    skip_unreadable=True)`` skipped, once training, a validation or a test
    ends: one total over the main process and its forked data-loader
    workers (each skip is also logged where it happens). Nothing is logged
    when nothing was skipped.

    Use it in a config::

        custom_hooks = [dict(type='hrseg_plugin.SkippedImagesHook')]
    """

    priority = 'LOW'

    def _report(self, stage: str) -> None:
        total = skipped_images()
        if total:
            print_log(
                f'{stage}: {total} unreadable image(s) skipped in total so '
                'far (hrseg_plugin.LoadImageFromFile(skip_unreadable=True)); '
                'each is named in the log above',
                logger='current',
                level=logging.WARNING)

    def after_train(self, runner) -> None:
        self._report('training finished')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._report('validation finished')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._report('test finished')
