import pytest


@pytest.fixture(autouse=True)
def _import_files(request, settings, tmp_path):
    """Each test's encrypted uploads in a folder of its own; real-worker tests keep the folder their worker
    processes use (the test settings' one)."""
    if request.node.get_closest_marker("services") is None:
        settings.EFNET_FILES_DIR = tmp_path / "files"
