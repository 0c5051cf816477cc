from . import (
    channel_event_edit,
    channel_exception_ignore,
    channel_exception_map_product,
)
