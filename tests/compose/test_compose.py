"""docker-compose.yml is valid and every command it runs exists in the code.

No Docker engine runs on these machines: Debian's docker-compose validates the
file without one, and the commands are checked against the real CLI parser.
"""
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config() -> dict:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose is not installed (make test installs it)")
    proc = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def test_every_service_command_parses(config):
    parser = build_parser()
    assert config["services"], "no services"
    for name, service in config["services"].items():
        command = service["command"]
        assert isinstance(command, list), f"{name}: command must be a list"
        args = parser.parse_args(command)  # exits (fails the test) on an unknown flag
        assert callable(args.func), name


def test_dockerfile_paths_exist(config):
    for name, service in config["services"].items():
        build = service.get("build")
        if build:
            dockerfile = Path(build["context"]) / build["dockerfile"]
            assert dockerfile.exists(), f"{name}: {dockerfile} missing"
            for line in dockerfile.read_text().splitlines():
                if line.startswith("COPY "):
                    for src in line.split()[1:-1]:
                        assert (ROOT / src).exists(), f"{dockerfile}: COPY {src} does not exist"
