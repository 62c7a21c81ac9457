"""Issue 13, inputs, outputs, processes and caches: what a hostile or careless input does
to the command line and the batch reader (crashes, hangs, orphaned workers, a pickle in
the shared temporary folder)."""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import engine
from engine.io.batch import Checker
from engine.io.inputs import RawResource, Unreadable, read
from tests.conftest import ROOT
from tests.hang_guard import HANG_GUARD, must_finish

GOOD = {"resourceType": "ImagingSelection", "status": "available", "code": {"text": "x"}}


def _cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=ROOT,
        capture_output=True,
        timeout=HANG_GUARD,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


# ---- outputs


@pytest.mark.parametrize("output", ["text", "json", "outcome"])
def test_a_lone_surrogate_is_escaped_and_the_batch_goes_on(tmp_path: Path, output: str) -> None:
    # Before: UnicodeEncodeError in the writer, and b.json was never reported.
    (tmp_path / "a.json").write_text(
        '{"resourceType": "ImagingSelection", "id": "x\\ud800", "status": "available",'
        ' "code": {"text": "\\udc00"}}',
        encoding="utf-8",
    )
    (tmp_path / "b.json").write_text(json.dumps(GOOD), encoding="utf-8")
    run = _cli("validate", "--format", output, str(tmp_path))
    assert run.returncode in (0, 1), run.stderr.decode("utf-8", "replace")
    text = run.stdout.decode("utf-8")  # strict: valid UTF-8
    assert "b.json" in text
    assert "\\ud800" in text
    if output != "text":
        lines = [json.loads(line) for line in text.splitlines()]
        assert len(lines) == 2
        assert "x\ud800" in json.dumps(lines[0], ensure_ascii=False)


def test_a_document_the_reader_fails_on_is_a_fatal_issue(definitions: engine.Definitions) -> None:
    # Before: LookupError (unknown encoding) out of the checker, ending the batch.
    data = b'<?xml version="1.0" encoding="x-bogus"?><Patient xmlns="http://hl7.org/fhir"/>'
    result = Checker(definitions)(RawResource("odd.xml", "odd.xml", data, "xml"))
    assert [i.severity for i in result.report.issues] == ["fatal"]
    assert not result.report.valid


# ---- inputs


def test_a_fifo_in_a_folder_is_skipped(tmp_path: Path) -> None:
    # Before: reading the folder blocked for ever on the FIFO.
    os.mkfifo(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps(GOOD), encoding="utf-8")
    with must_finish():
        found = list(read([str(tmp_path)]))
        by_glob = list(read([str(tmp_path / "*.json")]))
    assert [item.source for item in found] == [str(tmp_path / "b.json")]
    assert [item.source for item in by_glob] == [str(tmp_path / "b.json")]


def test_a_fifo_named_on_the_command_line_is_read_as_a_stream(tmp_path: Path) -> None:
    fifo = tmp_path / "live.ndjson"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as out:
            out.write(json.dumps(GOOD).encode() + b"\n" + json.dumps(GOOD).encode() + b"\n")

    writer = threading.Thread(target=write)
    writer.start()
    with must_finish():
        found = list(read([str(fifo)]))
    writer.join()
    assert [item.source for item in found] == [f"{fifo}:1", f"{fifo}:2"]


def test_a_device_named_on_the_command_line_is_read_as_a_stream(
    definitions: engine.Definitions,
) -> None:
    found = list(read(["/dev/null"]))
    assert [(item.source, item.data) for item in found] == [("/dev/null", b"")]  # type: ignore[union-attr]
    result = Checker(definitions)(found[0])  # type: ignore[arg-type]
    assert [(i.severity, i.code) for i in result.report.issues] == [("fatal", "structure")]


def test_a_socket_named_on_the_command_line_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        found = list(read([str(path)]))
    finally:
        server.close()
    assert len(found) == 1 and isinstance(found[0], Unreadable)
    assert found[0].message == "cannot read: it is a socket, not a file or a stream"


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b'{"a": 1}\n{"b": 2}\r{"c": 3}\n', [1, 2]),  # a bare CR ends no line
        (b'{"a": 1}\r\n{"b": 2}\r\n', [1, 2]),
        (b'\n\n{"a": 1}\n\n{"b": 2}', [3, 5]),
    ],
)
def test_ndjson_lines_are_the_same_from_a_file_and_from_a_stream(
    tmp_path: Path, data: bytes, lines: list[int]
) -> None:
    # Before: a bare CR split lines on standard input but not in a file.
    named, sniffed = tmp_path / "x.ndjson", tmp_path / "x.data"
    named.write_bytes(data)
    sniffed.write_bytes(data)

    def split(items: Iterator[RawResource | Unreadable]) -> list[tuple[int, bytes]]:
        return [(item.line, item.data) for item in items if isinstance(item, RawResource)]

    from_stdin = split(read(["-"], stdin=io.BytesIO(data)))
    assert split(read([str(named)])) == from_stdin
    assert split(read([str(sniffed)])) == from_stdin
    assert [number for number, _ in from_stdin] == lines
    assert all(not line.endswith((b"\n", b"\r")) for _, line in from_stdin)


# ---- worker processes end with the parent


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _wait(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def big_ndjson(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough resources to keep two workers busy for minutes."""
    path = tmp_path_factory.mktemp("big") / "big.ndjson"
    line = json.dumps({**GOOD, "seriesUid": "1.2.3", "studyUid": "1.2"}) + "\n"
    path.write_text(line * 100_000, encoding="utf-8")
    return path


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "closed pipe"])
def test_jobs_workers_end_with_the_parent(big_ndjson: Path, how: str) -> None:
    # Before: after SIGTERM the two workers kept running for ever.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine",
            "validate",
            "--jobs",
            "2",
            "--format",
            "json",
            str(big_ndjson),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    workers: set[int] = set()
    try:
        assert process.stdout is not None
        assert process.stdout.readline()  # the workers are at work
        # The second worker may still be starting when the first result comes back.
        assert _wait(lambda: len(_children(process.pid)) >= 2, 60)
        workers = _children(process.pid)
        if how == "closed pipe":
            process.stdout.close()
        else:
            process.send_signal(getattr(signal, how))
        process.wait(timeout=HANG_GUARD)
        assert _wait(lambda: not _alive(workers), 60), f"workers left: {_alive(workers)}"
    finally:
        for pid in _alive(workers):
            os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigterm_ends_a_run_whose_reader_stopped_reading(big_ndjson: Path, jobs: str) -> None:
    # Before: the run was blocked writing to a full pipe; the SIGTERM handler's exception
    # was taken for an output error (and the write tried again), or the signal went to a
    # helper thread of --jobs: either way the process never ended.
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "validate", "--jobs", jobs, "--format", "json"]
        + [str(big_ndjson)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline()
        # Not read any further: the pipe fills and the run blocks writing to it.
        assert _wait(lambda: _blocked_writing(process.pid), 60)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=HANG_GUARD) == 143
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _blocked_writing(pid: int) -> bool:
    """The process's main thread sleeps in a write to a pipe (Linux's /proc)."""
    try:
        wchan = Path(f"/proc/{pid}/wchan").read_text(encoding="utf-8")
    except OSError:
        return False
    return "pipe" in wchan


# ---- caches


def test_lark_tables_are_not_cached_in_the_shared_temporary_folder(tmp_path: Path) -> None:
    # Before: /tmp/.lark_cache_<user>_<hash>.tmp, a pickle anyone could plant.
    shared, private = tmp_path / "tmp", tmp_path / "cache"
    shared.mkdir()
    env = {"TMPDIR": str(shared), "FHIR_INVARIANTS_CACHE": str(private), "PATH": "/usr/bin:/bin"}
    program = "import engine.definitions.fields, engine.fhirpath.syntax"
    subprocess.run([sys.executable, "-c", program], env=env, check=True, cwd=ROOT)
    assert list(shared.iterdir()) == []
    assert (private.stat().st_mode & 0o777) == 0o700
    assert sorted(p.name for p in private.iterdir()) == [
        "lark-fields.lark.pickle",
        "lark-grammar.lark.pickle",
    ]


class _Payload:
    """Unpickling this creates a file: what a planted cache entry could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_a_cache_folder_others_can_write_to_is_not_used(tmp_path: Path) -> None:
    private, marker = tmp_path / "cache", tmp_path / "pwned"
    private.mkdir()
    private.chmod(0o777)
    for name in ("lark-grammar.lark.pickle", "lark-fields.lark.pickle"):
        (private / name).write_bytes(b"x\n" + pickle.dumps(_Payload(marker)))
    env = {"FHIR_INVARIANTS_CACHE": str(private), "PATH": "/usr/bin:/bin"}
    program = "import engine.definitions.fields, engine.fhirpath.syntax"
    subprocess.run([sys.executable, "-c", program], env=env, check=True, cwd=ROOT)
    assert not marker.exists()


def test_a_damaged_cache_entry_is_rebuilt_not_trusted(tmp_path: Path) -> None:
    private = tmp_path / "cache"
    private.mkdir(mode=0o700)
    (private / "lark-grammar.lark.pickle").write_bytes(b"garbage")
    import fhirpathpy

    expression = "name.given.first() = 'Jim'"
    ast = private / f"fhirpathpy-ast-{fhirpathpy.__version__}.json"
    ast.write_text(json.dumps({expression: {"type": 7, "children": "no"}}), encoding="utf-8")
    program = (
        "from engine.fhirpath.reference.evaluator import evaluate\n"
        f"print(evaluate({expression!r}, {{'resourceType': 'Patient',"
        " 'name': [{'given': ['Jim']}]}))\n"
    )
    env = {"FHIR_INVARIANTS_CACHE": str(private), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert run.stdout.strip() == "[True]", run.stderr
    # The entry was parsed again and written back whole.
    assert isinstance(json.loads(ast.read_text(encoding="utf-8"))[expression]["type"], str)
