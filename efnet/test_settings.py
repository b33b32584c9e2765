"""Settings for the test suite: the real settings, with fast hashing, in-memory mail and a fixed key."""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-only-not-secret")
# Two test keys: "t1" encrypts, "t0" is an old key still able to decrypt (rotation tests).
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS",
    "t1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,t0:Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=",
)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost,efnet.example.jp")
os.environ.setdefault("EFNET_BASE_URL", "https://efnet.example.jp")
os.environ.setdefault("HTTPS", "0")

from efnet.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run inline in tests; the tests that prove real worker behaviour start a worker and switch this off.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
# Batches render in the test process; tests/documents/test_render_pool.py turns the render processes on, and
# the real-worker test gives its worker some through the environment.
DOCUMENTS_RENDER_PROCESSES = int(os.environ.get("DOCUMENTS_RENDER_PROCESSES", "0"))
# A test's data lives in its own open transaction, which threads with their own connections cannot see: the
# side-by-side apply runs in tests that commit (tests/imports/test_side_by_side.py) and in the real worker.
IMPORTS_THREADS = int(os.environ.get("IMPORTS_THREADS", "1"))
# The test database's name where the default (test_<name>) does not suit the server's naming rules.
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}  # noqa: F405
