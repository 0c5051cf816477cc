from . import test_channel_backend, test_job_channels, test_security
