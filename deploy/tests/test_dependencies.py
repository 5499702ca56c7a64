"""What the image and `make install` install: the locks say the same as pyproject.toml, every pin is
checked by hash, and the production side carries none of the local-run or test tools."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
REQ = ROOT / "requirements"
LOCAL_AND_DEV_TOOLS = {"honcho", "aiosmtpd", "grpcio-tools", "pytest", "moto", "ruff", "mypy", "playwright"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec)
    assert found, f"not a requirement: {spec!r}"
    return canonical(found.group(0))


def pins(lock: str) -> dict[str, str]:
    """name -> version of a requirements file made by `make lock`, each pin followed by its hashes."""
    text = (REQ / lock).read_text()
    found = {}
    for block in re.split(r"\n(?=[a-z0-9])", text):
        head = re.match(r"([a-z0-9][a-z0-9._-]*)==([^ ;\\]+)", block)
        if head:
            assert "--hash=sha256:" in block, (lock, head.group(1))
            found[canonical(head.group(1))] = head.group(2)
    return found


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_every_declared_dependency_is_locked_and_the_dev_lock_keeps_the_runtime_versions():
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    extras = project()["optional-dependencies"]
    for spec in project()["dependencies"] + extras["s3"]:
        assert requirement_name(spec) in runtime, spec
    for spec in extras["local"] + [s for s in extras["dev"] if not s.startswith("cartable[")]:
        assert requirement_name(spec) in dev, spec
    assert {name: dev[name] for name in runtime} == runtime
    protoc = pins("protoc.txt")
    assert {name: dev[name] for name in protoc} == protoc


def test_local_and_dev_tools_stay_out_of_the_runtime_and_the_image():
    declared = {requirement_name(s) for s in project()["dependencies"]}
    assert not declared & LOCAL_AND_DEV_TOOLS
    assert "python-json-logger" not in declared
    assert not set(pins("runtime.txt")) & LOCAL_AND_DEV_TOOLS
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/runtime.txt" in dockerfile
    assert "requirements/dev.txt" not in dockerfile
    # grpcio-tools lives in the build stage's /protoc venv, which the final stage does not copy.
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert "/protoc" not in final_stage
    assert "COPY devtools devtools" not in dockerfile


def test_make_install_uses_the_dev_lock_with_hashes():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q --require-hashes -r requirements/dev.txt" in makefile
    assert "pip install -q --no-deps -e ." in makefile
    assert "make install" in (ROOT / ".ci" / "run").read_text()
