"""Development-only secrets, generated once into the ignored var/ folder."""

import base64
import os
from pathlib import Path


def dev_secret(var_dir: Path, name: str, nbytes: int = 48) -> str:
    path = var_dir / "dev-keys" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        value = base64.urlsafe_b64encode(os.urandom(nbytes)).decode()
        # Create exclusively so two processes starting at once agree on one key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(value)
    return path.read_text().strip()
