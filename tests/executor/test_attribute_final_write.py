"""A calculated attribute whose final write raises an unexpected error ends FAILED with the reason, not RUNNING."""

from __future__ import annotations

from sqlalchemy import func, select

from executor.jobs import HANDLERS
from shared_model import jobs
from shared_model.db import session_scope
from shared_model.models import Attribute, AttributeState, DataType, JobState, Record

from .factory import add_records, new_project

# U+0000 passes the TEXT type check but PostgreSQL's jsonb refuses it: the one transaction that writes every value
# raises (an error no handler expects) after the sandboxed pass succeeded.
NUL = 'def ac(record):\n    return "a\\x00b"\n'


def test_an_error_in_the_final_write_fails_the_attribute(clean_db: str) -> None:
    data = add_records(new_project("final write"), ["one", "two", "three"])
    with session_scope() as session:
        attribute = Attribute(
            project_id=data.project_id,
            name="broken",
            data_type=DataType.TEXT,
            relative_position=2,
            user_created=True,
            source_code=NUL,
            state=AttributeState.RUNNING,  # as the gateway leaves it when it queues the job
        )
        session.add(attribute)
        session.flush()
        attribute_id = attribute.id
        jobs.enqueue(
            session,
            kind="attribute_calculation",
            owner_service="final-write-test",
            project_id=data.project_id,
            parameters={"attribute_id": str(attribute_id)},
        )
    worker = jobs.JobWorker("final-write-test", HANDLERS)
    claimed = jobs.claim("final-write-test", ["attribute_calculation"], worker.name)
    assert claimed is not None
    worker.run_job(claimed)

    job = jobs.wait_for_job(claimed.id, 5)
    assert job.state == JobState.FAILED and job.error
    assert "sandbox" not in job.error and "starting the code" not in job.error  # the pass ran; the write failed
    with session_scope() as session:
        attribute = session.get(Attribute, attribute_id)
        assert attribute is not None
        assert attribute.state == AttributeState.FAILED
        assert attribute.logs and job.error[:200] in attribute.logs[-1]
        written = session.scalar(
            select(func.count()).select_from(Record).where(Record.project_id == data.project_id, Record.data.has_key("broken"))
        )
    assert written == 0
