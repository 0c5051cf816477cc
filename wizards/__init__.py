from . import channel_exception_ignore
