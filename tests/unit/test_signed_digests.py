"""R27: the offline verifier recomputes every signature's digest from the stored events alone
(auditor/verify_pack.py, its own code, standard library only) and finds what the aggregate
recorded: through renames, evidence replaced and pinned by artifact, links, reschedules,
rounds vetoed, reopened and completed, achievements and reopenings."""

from __future__ import annotations

from datetime import date

from application.ledger import Ledger
from auditor.verify_pack import signed_digests
from domain.entities import ArtifactRef, SignatureMeaning
from domain.project import Project
from domain.roles import ProjectRole

PDF = ArtifactRef(sha256="ab" * 32, size=10, media_type="application/pdf", filename="r.pdf")


def _stored(project: Project) -> list[tuple[int, str, bytes]]:
    mapper = Ledger(env={"PERSISTENCE_MODULE": "adapters.memory:MemoryFactory"}).mapper
    stored = [mapper.to_stored_event(e) for e in project.collect_events()]
    return [(n, s.topic, s.state) for n, s in enumerate(stored, start=1)]


def _story() -> Project:
    p = Project.create(name="Audited", actor="alice")
    for who in ("carol", "dave"):
        p.set_member(who, ProjectRole.REVIEWER, actor="alice")
    phase = p.add_phase("Build", actor="alice")
    spec = p.define_deliverable(title="Spec", phase_id=phase, actor="alice")
    code = p.define_deliverable(title="Code", phase_id=phase, actor="alice")
    first = p.add_criterion(spec, "has a summary", actor="alice")
    second = p.add_criterion(spec, "signed off", actor="alice")
    p.record_evidence(spec, first, "https://e.example/spec", "cd" * 32, actor="alice")
    p.record_evidence(spec, second, None, artifact=PDF, actor="alice")
    c = p.add_criterion(code, "builds", actor="alice")
    p.record_evidence(code, c, "https://ci.example/1", actor="alice")
    p.set_required_approvals(spec, 2, actor="alice")
    p.submit(spec, actor="alice")
    p.approve(spec, actor="carol", signer_name="Carol Danvers")
    p.reject(spec, "typo", actor="dave")
    p.update_deliverable(spec, title="Specification", actor="alice")
    p.record_evidence(spec, first, "https://e.example/spec-2", actor="alice")
    p.submit(spec, actor="alice")
    p.reopen_deliverable(spec, "wrong file", meaning=SignatureMeaning.AUTHORSHIP, actor="alice")
    p.submit(spec, actor="alice")
    p.approve(spec, actor="dave", meaning=SignatureMeaning.REVIEW)
    p.approve(spec, actor="carol", signer_name="Carol Danvers")
    p.submit(code, actor="alice")
    p.approve(code, actor="carol")
    m = p.define_milestone(
        name="Release", phase_id=phase, due=date(2031, 1, 1), deliverable_ids=[spec], actor="alice"
    )
    p.link(m, code, actor="alice")
    p.reschedule(m, date(2031, 2, 1), "later", actor="alice")
    p.achieve(m, actor="alice", signer_name="Alice Liddell")
    p.reopen_milestone(m, "stale", actor="alice")
    p.unlink(m, code, actor="alice")
    p.achieve(m, actor="alice")
    return p


def test_every_recorded_digest_is_recomputed_from_the_stored_events() -> None:
    events = _stored(_story())

    found = signed_digests(events)

    # reject, reopen, 2 × approval signed, 2 × approved, 2 × achieved, 1 reopened milestone
    assert len(found) == 9
    assert [recorded for _, recorded, _ in found] == [again for _, _, again in found]
    assert len({recorded for _, recorded, _ in found}) == len(found)  # what was signed differs


def test_a_recorded_digest_that_does_not_match_the_events_is_told_apart() -> None:
    events = _stored(_story())
    position, topic, state = events[-1]
    [(_, recorded, _)] = [f for f in signed_digests(events) if f[0] == position]
    forged = state.replace(recorded.encode(), b"0" * 64)

    found = signed_digests([*events[:-1], (position, topic, forged)])

    assert (found[-1][1], found[-1][2]) == ("0" * 64, recorded)
