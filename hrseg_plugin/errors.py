"""The errors this package's checks raise for a mistake in the user's
config, data or files.

Each is a ``ValueError`` (what the stock libraries raise for bad values,
and what existing callers catch) whose message names the file or field and
the fix. The tools (:func:`hrseg_plugin.apis.run_tool`) print it as one
``<tool>: error: <message>`` line, exit status 2, without a traceback, also
when it was raised in a data-loader worker process (torch re-raises it in
the main process with the worker's traceback folded into the message:
:meth:`CheckError.__init__` keeps only the original message).
"""

_WORKER_PREFIX = 'Caught '
_WORKER_TRACEBACK = 'Original Traceback (most recent call last):'


class CheckError(ValueError):
    """A check of this package failed; the message says what and how to
    fix it."""

    def __init__(self, message: str = ''):
        super().__init__(self._original_message(str(message)))

    @classmethod
    def _original_message(cls, message: str) -> str:
        """The message as raised in a data-loader worker, without the
        ``Caught X in DataLoader worker process N ... Traceback`` text torch
        adds when it re-raises the error in the main process."""
        if not (message.startswith(_WORKER_PREFIX)
                and _WORKER_TRACEBACK in message):
            return message
        for name in (f'{cls.__module__}.{cls.__qualname__}: ',
                     f'{cls.__qualname__}: '):
            at = message.rfind(name)
            if at >= 0:
                return message[at + len(name):].rstrip('\n')
        return message


class ConfigError(CheckError):
    """A config file cannot be loaded, or a ``--cfg-options`` override does
    not fit it."""


class ModelConfigError(CheckError):
    """The model's config is inconsistent (e.g. a head's ``in_channels``
    does not match the backbone's outputs)."""


class DataError(CheckError):
    """An image or label file cannot be used as it is (unreadable,
    truncated, labels out of range, label map of another size)."""
