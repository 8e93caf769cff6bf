"""Peer race: SpiffWorkflow (BPMN), the four steps as manual tasks, persisted with its own
serializer in the minimal schema (plain ``sqlite3``, one transaction per step).

Each step is handled as a request would be: read the case, rebuild the workflow from its
stored JSON, complete the ready task of that name, store the workflow again with the new
state and a history row.
"""

from __future__ import annotations

from pathlib import Path

from _race import DATES, STEPS, Clock, args, open_plain, pragmas_of, record_step, report
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState


def main() -> None:
    path, n = args()
    parser = BpmnParser()
    parser.add_bpmn_file(str(Path(__file__).with_name("transfer.bpmn")))
    spec = parser.get_spec("transfer")
    serializer = BpmnWorkflowSerializer()
    started = BpmnWorkflow(spec)
    started.do_engine_steps()  # waits at the first manual task, "review"
    data = serializer.serialize_json(started)
    con = open_plain(path, [(i, data) for i in range(1, n + 1)], "id, data")
    with Clock() as clock:
        for case_id in range(1, n + 1):
            for (trigger, _, target), day in zip(STEPS, DATES, strict=True):
                con.execute("BEGIN")
                state, version, stored = con.execute(
                    "SELECT state, version, data FROM wf_case WHERE id = ?", (case_id,)).fetchone()
                workflow = serializer.deserialize_json(stored)
                ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                         if t.task_spec.name == trigger]
                assert len(ready) == 1, (state, trigger)
                ready[0].run()
                workflow.do_engine_steps()
                cur = con.execute("UPDATE wf_case SET state = ?, version = ?, data = ? "
                                  "WHERE id = ? AND version = ?",
                                  (target, version + 1, serializer.serialize_json(workflow),
                                   case_id, version))
                assert cur.rowcount == 1
                record_step(con, case_id, version + 1, trigger, state, target, day)
                con.execute("COMMIT")
    assert workflow.completed
    report("SpiffWorkflow", n * len(STEPS), clock.seconds, pragmas_of(con))


if __name__ == "__main__":
    main()
