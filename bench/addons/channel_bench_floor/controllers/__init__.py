from . import floor
