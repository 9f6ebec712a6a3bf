"""The responsibility timeline of the scripted appeal, against hand-computed figures."""

from apps.supervision.responsibility import appeal_responsibility, working_hours_between
from tests.supervision.conftest import at


def test_the_stages_match_the_hand_computed_holders_and_durations(scripted, dept_staff, dispatcher):
    duty = appeal_responsibility(scripted["appeal"])
    got = [(s.key, s.holder_kind, s.start, s.end, s.hours, s.working_hours) for s in duty.stages]
    assert got == [
        # Centre: received 09:00, dispatched 09:30.
        ("intake", "centre", at(3, 2, 9), at(3, 2, 9, 30), 0.5, 0.5),
        # Housing bureau: Mon 09:30-12:00 + 14:00-17:30, Tue 08:30-11:30 = 2.5 + 3.5 + 3 office hours.
        ("pending_sign", "department", at(3, 2, 9, 30), at(3, 3, 11, 30), 26.0, 9.0),
        # Tue 11:30-12:00 + 3.5, Wed 7, Thu 08:30-12:00 + 14:00-16:00 = 4 + 7 + 5.5.
        ("in_progress", "department", at(3, 3, 11, 30), at(3, 5, 16), 52.5, 16.5),
        # Centre reviews: Thu 16:00-17:30, Fri 08:30-10:00.
        ("replied", "centre", at(3, 5, 16), at(3, 6, 10), 18.0, 3.0),
        # Sent back: Fri 10:00-12:00 + 3.5, Mon 08:30-12:00 + 14:00-15:00 = 5.5 + 4.5.
        ("in_progress", "department", at(3, 6, 10), at(3, 9, 15), 77.0, 10.0),
        ("replied", "centre", at(3, 9, 15), at(3, 10, 9), 18.0, 3.0),
        # Accepted: the centre's return visit is due (still running, the clock is frozen).
        ("visit", "centre", at(3, 10, 9), None, 0.0, 0.0),
    ]
    assert duty.stages[1].holder == "市住房和城乡建设局"
    # Intake was ended by the dispatcher who dispatched, not the operator who recorded it.
    assert duty.stages[0].person == (dispatcher.name or dispatcher.username)
    # Who ended each stage: the person who signed, the reviewer who sent it back.
    assert duty.stages[1].person == (dept_staff.name or dept_staff.username)
    assert duty.stages[3].person == (dispatcher.name or dispatcher.username)


def test_the_missed_limits_name_the_department_and_the_person(scripted, dept_staff):
    duty = appeal_responsibility(scripted["appeal"])
    misses = {(m.limit, m.due_at, m.done_at, m.late_hours) for m in duty.misses}
    assert misses == {
        ("sign", at(3, 3, 9, 30), at(3, 3, 11, 30), 2.0),
        ("contact", at(3, 3, 9, 30), at(3, 3, 14), 4.5),
    }
    contact = next(m for m in duty.misses if m.limit == "contact")
    assert contact.responsible == f"市住房和城乡建设局 · {dept_staff.name or dept_staff.username}"
    sign = next(m for m in duty.misses if m.limit == "sign")
    assert sign.responsible == "市住房和城乡建设局"  # nobody had signed: the department answers


def test_the_extension_names_who_asked_who_approved_and_why(scripted, dept_staff):
    duty = appeal_responsibility(scripted["appeal"])
    assert len(duty.extensions) == 1
    ext = duty.extensions[0]
    leader = scripted["leader"]
    assert (ext.old_due, ext.new_due) == (at(3, 9, 9, 30), at(3, 12, 9, 30))  # +3 working days
    assert ext.changed_by == (leader.name or leader.username)
    assert ext.approved_by == (leader.name or leader.username)
    assert ext.requested_by == (dept_staff.name or dept_staff.username)
    assert ext.days == 3
    assert "同意延期三个工作日" in ext.reason
    assert ext.at == at(3, 4, 11)


def test_office_hours_skip_weekends_and_the_lunch_break(holidays_2026):
    # Friday 16:00 to Monday 09:30: 1.5 h on Friday, 1 h on Monday.
    assert working_hours_between(at(3, 6, 16), at(3, 9, 9, 30)) == 2.5
    assert working_hours_between(at(3, 9, 12), at(3, 9, 14)) == 0.0
    assert working_hours_between(at(3, 9, 14), at(3, 9, 12)) == 0.0
