import pytest


@pytest.fixture(autouse=True)
def _import_files(settings, tmp_path):
    """Each test's encrypted uploads in a folder of its own."""
    settings.EFNET_FILES_DIR = tmp_path / "files"
