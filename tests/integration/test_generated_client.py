"""A typed client generated from `/openapi.json` lives on the document alone (issue 16, item 6).

openapi-python-client generates a client from the document a real `milestones serve` publishes;
the client then runs the README's walk-through, the exports, the picture and the calendar,
conditional reads, the probes and every documented error class, with no hand-written request:
every call goes through a generated function, and the client raises on any status the document
does not list (`raise_on_unexpected_status`). What a generator could not express before: no
`Idempotency-Key`, an undocumented 304, exports documented as JSON, an SVG without a schema, a
`$defs` nested in the problem's schema (the generator dropped every error answer), and operation
ids spelled from the paths.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.processes import MILESTONES, REPO, run, running_service

PACKAGE = "ml_generated_client"


class Service:
    def __init__(self, base: str, env: dict[str, str]) -> None:
        self.base = base
        self.env = env

    def token(self, name: str, role: str = "member") -> str:
        run([*MILESTONES, "principal", "add", name, "--role", role], self.env)
        return run([*MILESTONES, "token", "create", name], self.env).strip()


@pytest.fixture(scope="module")
def service(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(database_url, tmp_path_factory.mktemp("generated")) as (base, env):
        yield Service(base, env)


@pytest.fixture(scope="module")
def generated(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    generator = Path(sys.executable).with_name("openapi-python-client")
    if not generator.exists():
        pytest.skip("openapi-python-client is missing (make install adds the dev tools)")
    tmp = tmp_path_factory.mktemp("client")
    with urllib.request.urlopen(f"{service.base}/openapi.json", timeout=10) as answer:
        document = answer.read()
    (tmp / "openapi.json").write_bytes(document)
    # The media types the generator does not know (SVG, CSV, NDJSON, iCalendar, zip, ...) are
    # read as bytes (a `File`): its documented way, a content-type override.
    operations = [op for path in json.loads(document)["paths"].values() for op in path.values()]
    bodies = [
        *(answer for op in operations for answer in op.get("responses", {}).values()),
        *(op["requestBody"] for op in operations if "requestBody" in op),
    ]
    overrides = sorted(
        {media for body in bodies for media in body.get("content", {}) if "json" not in media}
    )
    (tmp / "config.yaml").write_text(
        "content_type_overrides:\n"
        + "".join(f'  "{media}": application/octet-stream\n' for media in overrides)
    )
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(tmp / "openapi.json"),
            "--output-path",
            str(tmp / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(tmp / "config.yaml"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Every operation generated: the generator warns of each part it had to leave out.
    assert "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(tmp))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
    shutil.rmtree(tmp, ignore_errors=True)


def api(name: str) -> Any:
    """A generated operation module, `api("commands.achieve")`."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def client_for(generated: Any, service: Service, token: str) -> Any:
    return generated.AuthenticatedClient(
        base_url=service.base, token=token, raise_on_unexpected_status=True
    )


def test_a_generated_client_runs_the_walkthrough_exports_picture_and_errors(
    generated: Any, service: Service
) -> None:
    erin = client_for(generated, service, service.token("gen-erin"))
    frank = client_for(generated, service, service.token("gen-frank"))
    outsider = client_for(generated, service, service.token("gen-outsider"))
    problem = model("Problem")

    # The walk-through, command by command.
    created = api("commands.create_project").sync_detailed(
        client=erin, body=model("ProjectCreate")(name="Analysis study"), idempotency_key="gen-1"
    )
    assert created.status_code == 201, created.content
    assert created.headers["Location"].startswith("/v1/projects/")
    pid = created.parsed.project_id
    again = api("commands.create_project").sync_detailed(
        client=erin, body=model("ProjectCreate")(name="Analysis study"), idempotency_key="gen-1"
    )
    assert again.parsed.project_id == pid  # the kept answer, not a second project
    member = model("MemberSet")(principal="gen-frank", role=model("ProjectRole")("reviewer"))
    api("commands.set_member").sync(pid, client=erin, body=member)
    phase = api("commands.add_phase").sync(pid, client=erin, body=model("PhaseCreate")(name="A"))
    deliverable = api("commands.define_deliverable").sync(
        pid,
        client=erin,
        body=model("DeliverableCreate")(title="Analysis report draft", phase_id=phase.phase_id),
    )
    did = deliverable.deliverable_id
    criterion = api("commands.add_criterion").sync(
        pid, did, client=erin, body=model("CriterionCreate")(text="includes methodology")
    )
    milestone = api("commands.define_milestone").sync(
        pid,
        client=erin,
        body=model("MilestoneCreate")(
            name="Draft report submitted",
            phase_id=phase.phase_id,
            due=date.today() + timedelta(days=30),
            deliverable_ids=[did],
        ),
    )
    mid = milestone.milestone_id
    refused = api("commands.achieve").sync(pid, mid, client=erin, body=model("Achievement")())
    assert isinstance(refused, problem)
    assert refused.status == 409
    assert refused.errors[0].rule == "R3"
    api("commands.record_evidence").sync(
        pid,
        did,
        criterion.criterion_id,
        client=erin,
        body=model("EvidenceRecord")(evidence="https://docs.example.com/report.pdf"),
    )
    api("commands.submit").sync(pid, did, client=erin, body=model("Submission")())
    api("commands.approve").sync(pid, did, client=frank, body=model("Approval")())
    achieved = api("commands.achieve").sync(pid, mid, client=erin, body=model("Achievement")())
    schedule = api("queries.schedule").sync(pid, client=erin, min_position=achieved.position)
    shown = schedule.phases[0].milestones[0]
    assert (shown.name, shown.health.value, shown.achieved_by) == (
        "Draft report submitted",
        "achieved_on_time",
        "gen-erin",
    )

    # Conditional reads: the 304s are documented, so the client returns them.
    read = api("queries.project").sync_detailed(pid, client=erin)
    assert read.status_code == 200
    unchanged = api("queries.project").sync_detailed(
        pid, client=erin, if_none_match=read.headers["ETag"]
    )
    assert unchanged.status_code == 304
    stale = api("commands.add_phase").sync(
        pid, client=erin, body=model("PhaseCreate")(name="B"), if_match='"1"'
    )
    assert isinstance(stale, problem)
    assert stale.status == 412

    # The exports, the picture and the calendar, as bytes of their media types.
    csv = api("history.audit_export").sync_detailed(
        client=erin, project_id=pid, format_=model("ExportFormat")("csv")
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert b"gen-frank approved 'Analysis report draft'" in csv.parsed.payload.read()
    ndjson = api("history.history_export").sync(
        pid, client=erin, format_=model("ExportFormat")("ndjson")
    )
    lines = [json.loads(line) for line in ndjson.payload.read().splitlines()]
    assert [line["type"] for line in lines][-1] == "MilestoneAchieved"
    picture = api("queries.timeline").sync(pid, client=erin)
    assert picture.payload.read().startswith(b"<svg")
    calendar = api("history.calendar").sync(pid, client=erin)
    assert b"BEGIN:VCALENDAR" in calendar.payload.read()
    assert api("system.ready").sync_detailed(client=erin).status_code == 200
    # Typed `str`, handed over as the body's bytes (the generator's way with text/plain).
    metrics = api("system.metrics").sync(client=erin)
    assert "milestones_" in (metrics.decode() if isinstance(metrics, bytes) else metrics)

    # Every class of documented error, parsed as the problem it is.
    unknown = client_for(generated, service, "ml_not-a-token")
    for answer, status in (
        (api("queries.project").sync(pid, client=unknown), 401),
        (
            api("commands.add_phase").sync(pid, client=frank, body=model("PhaseCreate")(name="C")),
            403,
        ),
        (api("queries.project").sync(pid, client=outsider), 404),
        (api("commands.add_phase").sync(pid, client=erin, body=model("PhaseCreate")(name="")), 422),
        (
            api("commands.define_deliverable").sync(
                pid,
                client=erin,
                body=model("DeliverableCreate")(
                    title="Too big", phase_id=phase.phase_id, description="x" * 1_100_000
                ),
            ),
            413,
        ),
        (api("history.audit").sync(client=erin, accept="text/html"), 406),
    ):
        assert isinstance(answer, problem), answer
        assert answer.status == status
