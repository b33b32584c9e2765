"""Settings for the Celery worker processes the real-worker tests start: the test settings, but sending by
SMTP to the address in EMAIL_URL (the tests' aiosmtpd server) and consuming from the Redis in REDIS_URL."""

import os

from efnet.test_settings import *  # noqa: F403

EMAIL_BACKEND = EMAIL_CONFIG["EMAIL_BACKEND"]  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = False
# Tasks a worker queues itself (dispatch → send_batch) stay on the test's own queue.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("NOTICES_TEST_QUEUE", "celery")

# Beat-guard tests: every periodic task every few seconds, so a beat that schedules shows it quickly.
if os.environ.get("EFNET_TEST_BEAT_EVERY"):
    for _entry in CELERY_BEAT_SCHEDULE.values():  # noqa: F405
        _entry["schedule"] = float(os.environ["EFNET_TEST_BEAT_EVERY"])
