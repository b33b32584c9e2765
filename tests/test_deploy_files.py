"""The files in deploy/ agree with each other: the systemd units run what the Procfile (which `make prod-smoke`
runs) says, and the README shows the very files that are in the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def procfile() -> dict[str, str]:
    lines = (DEPLOY / "Procfile").read_text().splitlines()
    return {name.strip(): command.strip() for name, _, command in (line.partition(":") for line in lines if line)}


def test_each_systemd_unit_runs_its_procfile_command():
    for name, command in procfile().items():
        unit = (DEPLOY / "systemd" / f"efnet-{name}.service").read_text()
        (exec_start,) = re.findall(r"^ExecStart=(.+)$", unit, re.MULTILINE)
        assert exec_start.removeprefix("/srv/efnet/.venv/bin/") == command, name
        assert "EnvironmentFile=/etc/efnet/efnet.env" in unit and "User=efnet" in unit


def test_the_readme_shows_the_deployment_files_as_they_are():
    readme = (ROOT / "README.md").read_text()
    for path in ("Procfile", "nginx/efnet.conf", "gunicorn.conf.py", "systemd/efnet-worker.service"):
        text = (DEPLOY / path).read_text().strip()
        assert text in readme, f"README's copy of deploy/{path} differs from the file"


def test_the_example_environment_holds_no_secret():
    for line in (DEPLOY / "efnet.env.example").read_text().splitlines():
        if line.startswith(("SECRET_KEY=", "FIELD_ENCRYPTION_KEYS=")):
            assert line.endswith("="), line
