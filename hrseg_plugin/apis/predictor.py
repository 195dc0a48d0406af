"""Inference on single images with a config and a checkpoint
(``tools/infer.py``), for mmseg and mmdet configs alike."""
import copy
import os.path as osp

from hrseg_plugin.utils.checkpoint_io import load_checkpoint_file
from .checkpoints import allow_mmengine_checkpoints, check_checkpoint_fits
from .cli import ToolError, check_file
from .config import get_task_spec, import_object


def init_model_from_config(cfg, checkpoint: str, device: str = 'cpu'):
    """The config's model with the checkpoint's weights, in eval mode, by
    the library's own ``init_model`` (mmseg) / ``init_detector`` (mmdet),
    SyncBN replaced by BN (one process).

    A file that is not a checkpoint, or of another model, is refused by
    name. An mmseg checkpoint that records no classes (a converted or bare
    state dict) gets the classes of the config's data set: mmseg's
    ``init_model`` would fail on it (``KeyError: 'meta'``, or an
    ``AttributeError`` for a cascade of heads) or guess them.
    """
    check_file(checkpoint, 'checkpoint file')
    from mmengine.model import revert_sync_batchnorm
    spec = get_task_spec(cfg)
    init_model = import_object(spec.init_model)
    allow_mmengine_checkpoints()
    ckpt = load_checkpoint_file(checkpoint, error=ToolError)
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    del ckpt
    if spec.scope == 'mmseg' and not (isinstance(meta, dict) and (
            'dataset_meta' in meta or 'CLASSES' in meta)):
        model = init_model(copy.deepcopy(cfg), checkpoint=None,
                           device=device)
        check_checkpoint_fits(checkpoint, model)
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, checkpoint, map_location='cpu')
        model.dataset_meta = _config_dataset_meta(cfg, checkpoint)
    else:
        model = init_model(copy.deepcopy(cfg), checkpoint=checkpoint,
                           device=device)
        # the keys a model has do not depend on what was loaded into it:
        # check the file against this one model instead of building twice
        check_checkpoint_fits(checkpoint, model)
    # SyncBN cannot run in a single process: use plain BN (mmdet's
    # init_detector does this already, mmseg's init_model does not).
    return revert_sync_batchnorm(model).eval()


def _config_dataset_meta(cfg, checkpoint: str) -> dict:
    """The classes (and palette) of the config's test / val / train data
    set, for a checkpoint that records none."""
    from .data_checks import config_dataset_meta
    meta = config_dataset_meta(
        cfg, ('test_dataloader', 'val_dataloader', 'train_dataloader'))
    if not meta:
        raise ToolError(
            f'{checkpoint} records no classes (no meta.dataset_meta) and '
            "the config's data sets name none: add metainfo=dict(classes="
            '(...)) to the test_dataloader.dataset of the config')
    return meta


class Predictor:
    """Runs a config + checkpoint on single images and paints the result.

    mmseg configs use ``mmseg.apis.init_model`` / ``inference_model`` and
    ``SegLocalVisualizer``; mmdet configs ``mmdet.apis.init_detector`` /
    ``inference_detector`` and ``DetLocalVisualizer`` (boxes, and masks for
    instance segmentation models).

    Args:
        cfg (mmengine.Config): The loaded config (see :func:`load_config`).
        checkpoint (str): Checkpoint file.
        device (str): Torch device, e.g. ``'cpu'`` or ``'cuda:0'``.
        opacity (float): Opacity of the painted segmentation map / masks,
            in (0, 1].
        score_thr (float): Detections with a lower score are not drawn
            (mmdet only).
    """

    def __init__(self,
                 cfg,
                 checkpoint: str,
                 device: str = 'cpu',
                 opacity: float = 0.5,
                 score_thr: float = 0.3):
        self.spec = get_task_spec(cfg)
        if not 0 < opacity <= 1:
            raise ToolError(f'--opacity must be in (0, 1], got {opacity}')
        cfg = copy.deepcopy(cfg)  # the init functions edit cfg.model
        # mmseg's inference reads cfg.test_pipeline, mmdet's
        # cfg.test_dataloader.dataset.pipeline: make sure both exist.
        if cfg.get('test_pipeline', None) is None:
            try:
                cfg.test_pipeline = cfg.test_dataloader.dataset.pipeline
            except AttributeError:
                raise ToolError('the config has neither `test_pipeline` nor '
                                '`test_dataloader.dataset.pipeline`')
        self.model = init_model_from_config(cfg, checkpoint, device)
        self._inference = import_object(self.spec.inference)
        visualizer_cls = import_object(self.spec.visualizer)
        self.visualizer = visualizer_cls(
            name=f'hrseg_infer_{id(self)}', alpha=opacity)
        self.visualizer.dataset_meta = self.model.dataset_meta
        self.draw_kwargs = dict(self.spec.draw_kwargs)
        if self.spec.score_thr_kwarg:
            self.draw_kwargs[self.spec.score_thr_kwarg] = score_thr

    def predict(self, img):
        """Predict one BGR image (as returned by :func:`read_image`)."""
        return self._inference(self.model, img)

    def draw(self, img, result, out_file: str):
        """Paint ``result`` over the BGR image and write it to ``out_file``
        (same size as the image)."""
        import mmcv
        self.visualizer.add_datasample(
            osp.basename(out_file),
            mmcv.bgr2rgb(img),
            data_sample=result,
            draw_gt=False,
            draw_pred=True,
            show=False,
            out_file=out_file,
            **self.draw_kwargs)

    def __call__(self, img, out_file: str):
        """Predict the BGR image, write the overlay, return the result."""
        result = self.predict(img)
        self.draw(img, result, out_file)
        return result
