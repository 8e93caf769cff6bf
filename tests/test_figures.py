"""Report figures from rows, without a database (:mod:`workflow.core.figures`)."""

import datetime as dt

from workflow import WorkingCalendar
from workflow.core.figures import BUCKETS, bucket, summarise

D = dt.date
CAL = WorkingCalendar()


def test_working_days_late_fall_in_buckets_of_five_and_zero_counts_with_the_first():
    """0–5 working days late are '1–5', 6–10 '6–10', 11–15 '11–15', more 'over 15'."""
    assert [bucket(n) for n in (0, 5, 6, 10, 11, 15, 16)] == [
        BUCKETS[0], BUCKETS[0], BUCKETS[1], BUCKETS[1], BUCKETS[2], BUCKETS[2], BUCKETS[3]]


def test_an_agency_summary_counts_overdue_escalated_and_statutory_breaches_from_rows():
    """A span judged by a committed date 2025-10-10 and due by statute 2025-10-20 is, on
    2025-10-22, 9 working days late (escalated at 5) and past its statutory date too; one
    judged by 2025-10-20 and due by statute 2025-10-24 is 2 working days late and neither."""
    rows = [("440300", D(2025, 10, 10), D(2025, 10, 20)),
            ("440300", D(2025, 10, 20), D(2025, 10, 24))]
    closed = [("440300", 4, 3, 4), ("310000", 2, 0, 1)]
    figures = summarise(iter(rows), closed, D(2025, 10, 22), CAL, escalate_after_days=5)
    assert list(figures) == ["310000", "440300"]
    s = figures["440300"]
    assert (s.overdue, s.escalated, s.statutory_breaches) == (2, 1, 1)
    assert s.buckets == {BUCKETS[0]: 1, BUCKETS[1]: 1, BUCKETS[2]: 0, BUCKETS[3]: 0}
    assert (s.closed, s.on_time_rate) == (4, 0.75)
    assert figures["310000"].overdue == 0 and figures["310000"].on_time_rate == 0.0
