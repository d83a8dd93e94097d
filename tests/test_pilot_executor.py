"""The executor runs real processes: limits, heartbeats and kills are observed, not simulated."""

from __future__ import annotations

from pathlib import Path

from dirac_core.pilot.executor import Heartbeat, Payload, run_payload


def _payload(tmp_path: Path, script: str, cpu: int = 0, wall: int = 0) -> Payload:
    (tmp_path / "job.sh").write_text("#!/bin/sh\n" + script + "\n")
    return Payload("job.sh", "", tmp_path, cpu_seconds=cpu, wall_seconds=wall)


def test_completed_job_writes_its_output(tmp_path: Path) -> None:
    outcome = run_payload(_payload(tmp_path, "echo hello > result.txt; echo done"), lambda _: False, 0.5)
    assert outcome.reason == "completed" and outcome.exit_code == 0
    assert (tmp_path / "result.txt").read_text() == "hello\n"
    assert (tmp_path / "std.out").read_text() == "done\n"


def test_failing_job_is_failed(tmp_path: Path) -> None:
    outcome = run_payload(_payload(tmp_path, "exit 3"), lambda _: False, 0.5)
    assert outcome.reason == "failed" and outcome.exit_code == 3


def test_kill_reaches_payload_within_one_heartbeat(tmp_path: Path) -> None:
    beats: list[Heartbeat] = []

    def kill_on_second_beat(beat: Heartbeat) -> bool:
        beats.append(beat)
        return len(beats) >= 2

    outcome = run_payload(_payload(tmp_path, "sleep 60"), kill_on_second_beat, 0.3)
    assert outcome.reason == "killed"
    assert len(beats) == 2
    assert outcome.wall_seconds < 0.3 * 2 + 5.5  # two beats plus at most the TERM grace


def test_wall_limit_stops_payload(tmp_path: Path) -> None:
    outcome = run_payload(_payload(tmp_path, "sleep 30", wall=1), lambda _: False, 0.2)
    assert outcome.reason == "wall-limit"
    assert outcome.wall_seconds < 8


def test_cpu_limit_stops_busy_payload(tmp_path: Path) -> None:
    outcome = run_payload(_payload(tmp_path, "while :; do :; done", cpu=1), lambda _: False, 0.5)
    assert outcome.reason == "cpu-limit"
    assert outcome.exit_code is not None and outcome.exit_code < 0  # stopped by the kernel's signal
    assert outcome.cpu_seconds >= 0.5


def test_heartbeats_report_cpu_of_running_payload(tmp_path: Path) -> None:
    beats: list[Heartbeat] = []
    # Spin until the payload itself has used 1.5 s of CPU, however loaded the machine is.
    spin = "import time\nwhile time.process_time() < 1.5: pass\n"
    (tmp_path / "spin.py").write_text(spin)
    payload = Payload("python3", "spin.py", tmp_path, cpu_seconds=0, wall_seconds=120)
    outcome = run_payload(payload, lambda b: beats.append(b) or False, 0.3)
    assert outcome.reason == "completed"
    cpu_seen = [beat.cpu_seconds for beat in beats]
    assert len(cpu_seen) >= 2
    assert cpu_seen == sorted(cpu_seen)  # cumulative CPU never goes back
    assert max(cpu_seen) > 0.2
