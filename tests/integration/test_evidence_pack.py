"""The evidence pack (issue 14, item 3): upload → evidence → submit → approve → achieve → pack →
`milestones verify --pack` passes offline; one flipped byte in each part of the pack is named;
the pack holds nothing of another project."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from adapters.signing import raw_public
from api.bootstrap import Container
from api.checkpoints import Checkpoints
from application.access import GlobalRole
from auditor import verify_pack
from cli.main import main
from tests.integration.conftest import User, Users

REPO = Path(__file__).resolve().parents[2]
OTHER_SECRET = b"the other project's confidential test protocol"


def _upload(user: User, pid: str, content: bytes, filename: str) -> str:
    answer = user.request(
        "POST",
        f"/v1/projects/{pid}/artifacts",
        content=content,
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["sha256"])


def _busy_other_project(users: Users) -> tuple[str, str]:
    """Another project's events and artifact, interleaved with the audited one's."""
    other = users("other")
    pid = other.post("/v1/projects", {"name": "Other Confidential Venture"}).json()["project_id"]
    _upload(other, pid, OTHER_SECRET, "protocol.pdf")
    other.post(f"/v1/projects/{pid}/phases", {"name": "Secret phase"})
    return pid, other.name


@dataclass
class Achieved:
    manager: User
    pid: str
    mid: str
    digest: str
    report: bytes
    other_pid: str
    other_name: str
    public_key: str


@pytest.fixture
def achieved(users: Users, container: Container) -> Achieved:
    manager, reviewer = users("manager"), users("reviewer")
    pid = manager.post("/v1/projects", {"name": "Audited"}).json()["project_id"]
    other_pid, other_name = _busy_other_project(users)
    base = f"/v1/projects/{pid}"
    manager.post(f"{base}/members", {"principal": reviewer.name, "role": "reviewer"})
    phase = manager.post(f"{base}/phases", {"name": "Test"}).json()["phase_id"]
    did = manager.post(f"{base}/deliverables", {"title": "Report", "phase_id": phase}).json()[
        "deliverable_id"
    ]
    criterion = manager.post(f"{base}/deliverables/{did}/criteria", {"text": "tested"}).json()[
        "criterion_id"
    ]
    mid = manager.post(
        f"{base}/milestones",
        {
            "name": "Tested",
            "phase_id": phase,
            "due": (date.today() + timedelta(days=30)).isoformat(),
            "deliverable_ids": [did],
        },
    ).json()["milestone_id"]
    report = b"%PDF-1.7 the signed test report"
    digest = _upload(manager, pid, report, "report.pdf")
    _busy_other_project(users)
    evidence = f"{base}/deliverables/{did}/criteria/{criterion}/evidence"
    assert manager.post(evidence, {"artifact": digest}).status_code == 200
    assert manager.post(f"{base}/deliverables/{did}/submit", {}).status_code == 200
    rejected = reviewer.post(f"{base}/deliverables/{did}/reject", {"reason": "page 2 missing"})
    assert rejected.status_code == 200, rejected.text
    assert manager.post(f"{base}/deliverables/{did}/submit", {}).status_code == 200
    assert reviewer.post(f"{base}/deliverables/{did}/approve", {}).status_code == 200
    assert manager.post(f"{base}/milestones/{mid}/achieve", {}).status_code == 200
    _busy_other_project(users)
    checkpoints = Checkpoints.of(container)
    assert checkpoints.create() is not None
    public_key = base64.b64encode(raw_public(checkpoints.key.public_key())).decode()
    return Achieved(manager, pid, mid, digest, report, other_pid, other_name, public_key)


def _pack(user: User, a: Achieved, query: str = "") -> bytes:
    answer = user.get(f"/v1/projects/{a.pid}/milestones/{a.mid}/evidence-pack{query}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert "attachment" in answer.headers["content-disposition"]
    return answer.content


def _files(pack: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(pack)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as pack:
        for name, content in files.items():
            pack.writestr(name, content)
    return out.getvalue()


def test_a_pack_of_an_achieved_milestone_verifies_offline(
    achieved: Achieved, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "pack.zip"
    pack.write_bytes(_pack(achieved.manager, achieved))

    code = main(["verify", "--pack", str(pack), "--public-key", achieved.public_key])

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"milestone {achieved.mid} of project {achieved.pid}" in out
    assert "signed by trusted key" in out
    files = _files(pack.read_bytes())
    manifest = json.loads(files["manifest.json"])
    assert manifest["achievement"]["by"] == achieved.manager.name
    # R27: the manifestation, and each signature's digest recomputed offline from the events
    # (the rejection, the approval, the achievement).
    signed = manifest["achievement"]
    assert (signed["signer_name"], signed["meaning"]) == (achieved.manager.name, "responsibility")
    assert len(signed["signed_digest"]) == 64
    assert ", 3 signature digests, " in out
    assert [a["sha256"] for a in manifest["artifacts"]] == [achieved.digest]
    assert files[f"artifacts/{achieved.digest}"] == achieved.report
    [deliverable] = manifest["deliverables"]
    rounds = [e["event"] for e in deliverable["history"]]
    assert rounds[-4:] == [
        "DeliverableSubmitted",
        "DeliverableRejected",
        "DeliverableSubmitted",
        "DeliverableApproved",
    ]
    rejection = next(e for e in deliverable["history"] if e["event"] == "DeliverableRejected")
    assert rejection["reason"] == "page 2 missing"
    approval = deliverable["history"][-1]
    assert [d["artifact"] for d in approval["evidence_digests"]] == [achieved.digest]


def test_the_standalone_verifier_runs_without_the_service(
    achieved: Achieved, tmp_path: Path
) -> None:
    pack = tmp_path / "pack.zip"
    pack.write_bytes(_pack(achieved.manager, achieved))
    # Only the one file, copied out of the repository: no service module can be imported.
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "verify_pack.py").write_bytes((REPO / "auditor" / "verify_pack.py").read_bytes())

    trusted = subprocess.run(
        [
            sys.executable,
            "-I",
            str(alone / "verify_pack.py"),
            str(pack),
            "--public-key",
            achieved.public_key,
        ],
        capture_output=True,
        text=True,
        cwd=alone,
        check=False,
    )
    untrusted = subprocess.run(
        [sys.executable, "-I", str(alone / "verify_pack.py"), str(pack)],
        capture_output=True,
        text=True,
        cwd=alone,
        check=False,
    )

    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert untrusted.returncode == verify_pack.UNTRUSTED
    assert "UNTRUSTED" in untrusted.stdout


def test_without_artifacts_the_pack_keeps_their_digests_and_verifies(
    achieved: Achieved,
) -> None:
    pack = _pack(achieved.manager, achieved, "?artifacts=false")
    key = base64.b64decode(achieved.public_key)

    report = verify_pack.verify_pack(pack, [key])

    assert report.ok, report.problem
    assert report.trusted
    files = _files(pack)
    assert not [name for name in files if name.startswith("artifacts/")]
    assert json.loads(files["manifest.json"])["artifacts"][0]["sha256"] == achieved.digest


def _flip(content: bytes, index: int) -> bytes:
    return content[:index] + bytes([content[index] ^ 1]) + content[index + 1 :]


def _foreign_digest_index(segment: bytes) -> int:
    """A hex digit inside the last other-project row's digest (flipping it keeps valid hex)."""
    rows = json.loads(segment)["rows"]
    foreign = [r for r in rows if "t" not in r]
    assert foreign, "the segment passes through another project's rows"
    start = segment.index(foreign[-1]["d"].encode())
    return next(start + i for i, ch in enumerate(foreign[-1]["d"]) if ch.isdigit())


def test_one_flipped_byte_in_each_part_of_the_pack_is_named(achieved: Achieved) -> None:
    files = _files(_pack(achieved.manager, achieved))
    key = base64.b64decode(achieved.public_key)
    event = next(name for name in files if name.startswith("events/"))
    parts = [
        "manifest.json",
        "checkpoint.json",
        "chain.json",
        event,
        f"artifacts/{achieved.digest}",
    ]
    assert verify_pack.verify_pack(_zip(files), [key]).ok

    named = {}
    for part in parts:
        content = files[part]
        index = _foreign_digest_index(content) if part == "chain.json" else len(content) // 2
        report = verify_pack.verify_pack(_zip({**files, part: _flip(content, index)}), [key])
        assert not report.ok, part
        assert report.exit_code == verify_pack.BROKEN
        named[part] = report.part

    assert named == {part: part for part in parts}


def test_a_removed_event_or_a_wrong_key_is_found(achieved: Achieved) -> None:
    files = _files(_pack(achieved.manager, achieved))
    key = base64.b64decode(achieved.public_key)
    event = sorted(n for n in files if n.startswith("events/"))[1]
    without = {n: c for n, c in files.items() if n != event}

    removed = verify_pack.verify_pack(_zip(without), [key])
    stranger = verify_pack.verify_pack(_zip(files), [bytes(32)])

    assert not removed.ok
    assert removed.part == "chain.json"
    assert stranger.ok
    assert not stranger.trusted
    assert stranger.exit_code == verify_pack.UNTRUSTED


def test_a_pack_shows_nothing_of_another_project(achieved: Achieved) -> None:
    files = _files(_pack(achieved.manager, achieved))
    other = UUID(achieved.other_pid)
    everything = b"".join(files.values())
    segment = json.loads(files["chain.json"])

    assert [r for r in segment["rows"] if "t" not in r], "other projects' rows are in the segment"
    for secret in (
        OTHER_SECRET,
        b"Other Confidential Venture",
        b"Secret phase",
        achieved.other_name.encode(),
        str(other).encode(),
        other.hex.encode(),
        other.bytes,
    ):
        assert secret not in everything
    assert all(set(r) == {"p", "d"} for r in segment["rows"] if "t" not in r)


def test_only_managers_auditors_and_admins_take_a_pack(achieved: Achieved, users: Users) -> None:
    url = f"/v1/projects/{achieved.pid}/milestones/{achieved.mid}/evidence-pack"
    viewer, stranger = users("viewer"), users("stranger")
    achieved.manager.post(
        f"/v1/projects/{achieved.pid}/members", {"principal": viewer.name, "role": "viewer"}
    )

    assert users("auditor", GlobalRole.AUDITOR).get(url).status_code == 200
    assert users("admin", GlobalRole.ADMIN).get(url).status_code == 200
    refused = viewer.get(url)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert stranger.get(url).status_code == 404


def test_a_milestone_not_achieved_or_unknown_has_no_pack(achieved: Achieved) -> None:
    base = f"/v1/projects/{achieved.pid}"
    phase = achieved.manager.post(f"{base}/phases", {"name": "Later"}).json()["phase_id"]
    open_mid = achieved.manager.post(
        f"{base}/milestones",
        {"name": "Open", "phase_id": phase, "due": date.today().isoformat(), "deliverable_ids": []},
    ).json()["milestone_id"]

    not_achieved = achieved.manager.get(f"{base}/milestones/{open_mid}/evidence-pack")
    unknown = achieved.manager.get(f"{base}/milestones/{UUID(int=7)}/evidence-pack")

    assert not_achieved.status_code == 409
    assert not_achieved.headers["content-type"] == "application/problem+json"
    assert unknown.status_code == 404
