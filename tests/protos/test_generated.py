"""The generated protobuf code is produced by the install step and kept fresh."""
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_not_stale():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "protos" / "build.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_detects_an_edited_proto(tmp_path, monkeypatch):
    """--check must fail when a generated file no longer matches its source."""
    spec = importlib.util.spec_from_file_location("vila_protos_build", ROOT / "protos" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    pkg = tmp_path / "vila" / "v1"
    pkg.mkdir(parents=True)
    for proto in (ROOT / "protos" / "vila" / "v1").glob("*.proto"):
        (pkg / proto.name).write_text(proto.read_text())
    monkeypatch.setattr(build, "PROTO_ROOT", tmp_path)
    monkeypatch.setattr(build, "PACKAGE_DIR", pkg)
    build.generate(tmp_path)
    assert build.stale_files() == []
    media = pkg / "media.proto"
    media.write_text(media.read_text().replace("bool partial = 10;", "bool partial = 10;\n  string note = 11;"))
    assert "media_pb2.py" in build.stale_files()


def test_package_and_services_are_versioned():
    from vila.v1 import inference_pb2, summaries_pb2

    assert inference_pb2.DESCRIPTOR.package == "vila.v1"
    assert set(inference_pb2.DESCRIPTOR.services_by_name) == {"Inference"}
    assert set(summaries_pb2.DESCRIPTOR.services_by_name) == {"Summaries"}
    methods = {m.name for m in inference_pb2.DESCRIPTOR.services_by_name["Inference"].methods}
    assert methods == {"Caption", "RecognizeActions", "Ask", "SummarizeText", "Info"}
    methods = {m.name for m in summaries_pb2.DESCRIPTOR.services_by_name["Summaries"].methods}
    assert methods == {"ListStreams", "GetTimeline", "GetSummary", "Watch"}
