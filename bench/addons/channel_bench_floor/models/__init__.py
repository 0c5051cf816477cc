from . import channel_bench_floor_row
