"""SLA clocks: deadlines and counted time on calendar and business clocks, across weekends,
French public holidays and both daylight-saving changes of 2026 in Europe/Paris. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metropilot.cases.sla import (
    WEEKDAYS,
    BusinessCalendar,
    CalendarSpec,
    ClockKind,
    Pause,
    SlaTimer,
    add_duration,
    deadline_with_pauses,
    elapsed,
    parse_calendar_spec,
    paused_time,
)
from metropilot.shared.errors import Conflict, InvalidInput

PARIS = ZoneInfo("Europe/Paris")
OFFICE = BusinessCalendar()  # Mon–Fri 08:00–18:00, Europe/Paris, French public holidays
SPLIT_DAY = BusinessCalendar(
    CalendarSpec(hours=dict.fromkeys(WEEKDAYS[:5], ("08:00-12:00", "13:30-17:30")))
)
ROUND_THE_CLOCK = BusinessCalendar(
    CalendarSpec(hours=dict.fromkeys(WEEKDAYS, ("00:00-24:00",)), holidays_country=None)
)
NIGHTS = BusinessCalendar(
    CalendarSpec(hours=dict.fromkeys(WEEKDAYS, ("00:00-06:00", "20:00-24:00")))
)
FIXED_CALENDARS = [OFFICE, SPLIT_DAY, ROUND_THE_CLOCK, NIGHTS]


def paris(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS, fold=fold)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def is_aware_utc(instant: datetime) -> bool:
    return instant.tzinfo is UTC


# --- worked examples ------------------------------------------------------------------------


def test_friday_afternoon_plus_four_business_hours_is_monday_late_morning() -> None:
    deadline = add_duration(paris(2026, 6, 5, 17), hours(4), OFFICE)
    assert deadline == paris(2026, 6, 8, 11)
    assert is_aware_utc(deadline)


def test_a_deadline_reached_as_the_window_closes_is_the_closing_time() -> None:
    assert add_duration(paris(2026, 6, 8, 14), hours(4), OFFICE) == paris(2026, 6, 8, 18)
    assert add_duration(paris(2026, 6, 8, 18), hours(1), OFFICE) == paris(2026, 6, 9, 9)


def test_a_start_outside_working_hours_counts_from_the_next_window() -> None:
    assert add_duration(paris(2026, 6, 6, 10), hours(2), OFFICE) == paris(2026, 6, 8, 10)
    assert add_duration(paris(2026, 6, 8, 6, 30), hours(2), OFFICE) == paris(2026, 6, 8, 10)
    assert add_duration(paris(2026, 6, 8, 6), timedelta(0), OFFICE) == paris(2026, 6, 8, 6)


@pytest.mark.parametrize(
    ("start", "deadline", "holiday"),
    [
        (paris(2026, 4, 30, 16), paris(2026, 5, 4, 10), date(2026, 5, 1)),  # Fête du Travail
        (paris(2026, 5, 7, 17), paris(2026, 5, 11, 11), date(2026, 5, 8)),  # Victoire 1945
        (paris(2026, 5, 13, 17), paris(2026, 5, 15, 11), date(2026, 5, 14)),  # Ascension
        (paris(2026, 12, 24, 17), paris(2026, 12, 28, 11), date(2026, 12, 25)),  # Noël
        (paris(2026, 4, 3, 17), paris(2026, 4, 7, 11), date(2026, 4, 6)),  # Lundi de Pâques
    ],
)
def test_public_holidays_are_skipped(start: datetime, deadline: datetime, holiday: date) -> None:
    assert OFFICE.holiday_name(holiday) is not None
    assert OFFICE.windows_on(holiday) == ()
    assert add_duration(start, hours(4), OFFICE) == deadline


def test_holiday_names_are_french_and_only_public_holidays_close() -> None:
    assert OFFICE.holiday_name(date(2026, 12, 25)) == "Noël"
    assert OFFICE.holiday_name(date(2026, 12, 24)) is None
    assert not OFFICE.is_closed(date(2026, 12, 24))


def test_extra_closed_dates_and_a_subdivision_close_more_days() -> None:
    bridge = BusinessCalendar(CalendarSpec(closed_dates=(date(2026, 5, 15),)))
    assert add_duration(paris(2026, 5, 13, 17), hours(4), bridge) == paris(2026, 5, 18, 11)
    moselle = BusinessCalendar(CalendarSpec(holidays_subdivision="57"))
    # Good Friday is a public holiday in Moselle only.
    assert add_duration(paris(2026, 4, 2, 17), hours(4), OFFICE) == paris(2026, 4, 3, 11)
    assert add_duration(paris(2026, 4, 2, 17), hours(4), moselle) == paris(2026, 4, 7, 11)


def test_no_public_holidays_when_the_calendar_says_so() -> None:
    plain = BusinessCalendar(CalendarSpec(holidays_country=None))
    assert plain.holiday_name(date(2026, 12, 25)) is None
    assert add_duration(paris(2026, 12, 24, 17), hours(4), plain) == paris(2026, 12, 25, 11)


def test_several_windows_a_day() -> None:
    assert add_duration(paris(2026, 6, 8, 11), hours(2), SPLIT_DAY) == paris(2026, 6, 8, 14, 30)
    assert add_duration(paris(2026, 6, 8, 12, 30), hours(4), SPLIT_DAY) == paris(2026, 6, 8, 17, 30)
    assert elapsed(paris(2026, 6, 8, 7), paris(2026, 6, 9, 7), SPLIT_DAY) == hours(8)


def test_a_window_ending_at_midnight() -> None:
    evenings = BusinessCalendar(CalendarSpec(hours=dict.fromkeys(WEEKDAYS, ("18:00-24:00",))))
    assert evenings.windows_on(date(2026, 6, 8)) == ((paris(2026, 6, 8, 18), paris(2026, 6, 9)),)
    assert add_duration(paris(2026, 6, 8, 23), hours(1), evenings) == paris(2026, 6, 9)
    assert add_duration(paris(2026, 6, 8, 23), hours(2), evenings) == paris(2026, 6, 9, 19)


# Europe/Paris 2026: spring forward on 29 March at 02:00 CET → 03:00 CEST (01:00 UTC),
# fall back on 25 October at 03:00 CEST → 02:00 CET (01:00 UTC).


def test_a_calendar_clock_counts_real_hours_across_the_spring_change() -> None:
    start = paris(2026, 3, 29, 0, 30)
    deadline = add_duration(start, hours(4), None)
    assert deadline == datetime(2026, 3, 29, 3, 30, tzinfo=UTC)
    assert deadline.astimezone(PARIS).hour == 5  # the wall clock moved five hours
    assert elapsed(start, deadline) == hours(4)


def test_a_calendar_clock_counts_real_hours_across_the_autumn_change() -> None:
    start = paris(2026, 10, 25, 0, 30)
    deadline = add_duration(start, hours(4), None)
    assert deadline == datetime(2026, 10, 25, 2, 30, tzinfo=UTC)
    assert deadline.astimezone(PARIS).hour == 3  # the wall clock moved three hours
    assert elapsed(start, deadline) == hours(4)


def test_office_hours_follow_the_wall_clock_across_both_changes() -> None:
    # Friday 16:00 CET + 4 h: two on Friday, two from Monday 08:00, now CEST.
    spring = add_duration(paris(2026, 3, 27, 16), hours(4), OFFICE)
    assert spring == paris(2026, 3, 30, 10) == datetime(2026, 3, 30, 8, tzinfo=UTC)
    autumn = add_duration(paris(2026, 10, 23, 16), hours(4), OFFICE)
    assert autumn == paris(2026, 10, 26, 10) == datetime(2026, 10, 26, 9, tzinfo=UTC)
    # A working week either side of a change is still 50 hours.
    assert elapsed(paris(2026, 3, 23), paris(2026, 4, 4), OFFICE) == hours(100)
    assert elapsed(paris(2026, 10, 19), paris(2026, 10, 31), OFFICE) == hours(100)


def test_a_window_spanning_the_changed_hour_is_shorter_or_longer() -> None:
    assert elapsed(paris(2026, 3, 29), paris(2026, 3, 29, 6), NIGHTS) == hours(5)
    assert elapsed(paris(2026, 10, 25), paris(2026, 10, 25, 6), NIGHTS) == hours(7)
    assert elapsed(paris(2026, 3, 29), paris(2026, 3, 30), ROUND_THE_CLOCK) == hours(23)
    assert elapsed(paris(2026, 10, 25), paris(2026, 10, 26), ROUND_THE_CLOCK) == hours(25)
    # 23:00 CET + 4 business hours of the night shift: 1 h to midnight, 3 h after it, of
    # which one is skipped by the wall clock.
    deadline = add_duration(paris(2026, 3, 28, 23), hours(4), NIGHTS)
    assert deadline == paris(2026, 3, 29, 4) == datetime(2026, 3, 29, 2, tzinfo=UTC)
    deadline = add_duration(paris(2026, 10, 24, 23), hours(4), NIGHTS)
    # The second 02:00, in CET. (Aware datetimes in a repeated hour never compare equal across
    # zones, so compare in UTC.)
    assert deadline == paris(2026, 10, 25, 2, fold=1).astimezone(UTC)
    assert deadline == datetime(2026, 10, 25, 1, tzinfo=UTC)


def test_window_boundaries_inside_the_changed_hour() -> None:
    odd = BusinessCalendar(
        CalendarSpec(hours={"sun": ("00:00-02:30", "02:30-02:45")}, holidays_country=None)
    )
    # Skipped: "until 02:30" ends when the clock jumps to 03:00, and a window wholly inside
    # the skipped hour does not exist that day.
    assert odd.windows_on(date(2026, 3, 29)) == (
        (paris(2026, 3, 29), datetime(2026, 3, 29, 1, tzinfo=UTC)),
    )
    # Repeated: a boundary is its first occurrence (still CEST).
    assert odd.windows_on(date(2026, 10, 25)) == (
        (paris(2026, 10, 25), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 45, tzinfo=UTC)),
    )


def test_inputs_in_any_zone_give_utc_outputs() -> None:
    start = datetime(2026, 6, 5, 20, tzinfo=timezone(timedelta(hours=5)))  # 17:00 in Paris
    deadline = add_duration(start, hours(4), OFFICE)
    assert deadline == paris(2026, 6, 8, 11)
    assert is_aware_utc(deadline)


def test_a_deadline_months_away_walks_days_not_minutes() -> None:
    start = paris(2026, 1, 5, 8)
    deadline = add_duration(start, hours(2000), OFFICE)  # about ten months of office hours
    assert deadline.year == 2026
    assert elapsed(start, deadline, OFFICE) == hours(2000)


# --- pauses ---------------------------------------------------------------------------------


def test_a_pause_pushes_the_deadline_by_the_working_time_it_covers() -> None:
    start = paris(2026, 6, 8, 9)
    waiting = Pause(paris(2026, 6, 8, 10), paris(2026, 6, 8, 12), "waiting on Enedis")
    assert deadline_with_pauses(start, hours(4), OFFICE, [waiting]) == paris(2026, 6, 8, 15)
    assert paused_time(start, paris(2026, 6, 9), OFFICE, [waiting]) == hours(2)


def test_a_pause_outside_working_hours_changes_nothing_on_a_business_clock() -> None:
    start = paris(2026, 6, 5, 17)
    weekend = Pause(paris(2026, 6, 5, 19), paris(2026, 6, 8, 7), "waiting on the insurer")
    assert deadline_with_pauses(start, hours(4), OFFICE, [weekend]) == paris(2026, 6, 8, 11)
    assert deadline_with_pauses(start, hours(4), None, [weekend]) == paris(2026, 6, 8, 9)


def test_overlapping_pauses_count_once() -> None:
    start = paris(2026, 6, 8, 8)
    pauses = [
        Pause(paris(2026, 6, 8, 9), paris(2026, 6, 8, 11), "a"),
        Pause(paris(2026, 6, 8, 10), paris(2026, 6, 8, 12), "b"),
        Pause(paris(2026, 6, 8, 10, 30), paris(2026, 6, 8, 10, 45), "c"),
    ]
    assert deadline_with_pauses(start, hours(4), OFFICE, pauses) == paris(2026, 6, 8, 15)
    assert elapsed(start, paris(2026, 6, 8, 18), OFFICE, pauses) == hours(7)


def test_an_ongoing_pause_stops_the_clock() -> None:
    start = paris(2026, 6, 8, 8)
    ongoing = Pause(paris(2026, 6, 8, 10), None, "waiting on the water utility")
    assert deadline_with_pauses(start, hours(4), OFFICE, [ongoing]) is None
    assert deadline_with_pauses(start, hours(1), OFFICE, [ongoing]) == paris(2026, 6, 8, 9)
    assert elapsed(start, paris(2026, 6, 10, 12), OFFICE, [ongoing]) == hours(2)


def test_a_pause_before_the_start_only_counts_where_it_overlaps() -> None:
    early = Pause(paris(2026, 6, 8, 7), paris(2026, 6, 8, 10), "before dispatch")
    deadline = deadline_with_pauses(paris(2026, 6, 8, 9), hours(2), OFFICE, [early])
    assert deadline == paris(2026, 6, 8, 12)


# --- one running clock ----------------------------------------------------------------------


def test_a_timer_warns_at_eighty_percent_and_breaches_after_the_deadline() -> None:
    timer = SlaTimer(paris(2026, 6, 5, 17), hours(4), OFFICE)
    assert timer.clock is ClockKind.BUSINESS
    fresh = timer.state(paris(2026, 6, 5, 17, 30))
    assert fresh.deadline == paris(2026, 6, 8, 11)
    assert fresh.warning_at == paris(2026, 6, 8, 10, 12)  # 3 h 12 min of working time
    assert fresh.elapsed == timedelta(minutes=30)
    assert fresh.remaining == hours(3.5)
    assert fresh.fraction == pytest.approx(0.125)
    assert not fresh.warned
    assert not fresh.breached
    assert fresh.next_alert_at == fresh.warning_at
    # Over the weekend nothing is counted.
    assert timer.state(paris(2026, 6, 7, 12)).elapsed == hours(1)
    warned = timer.state(paris(2026, 6, 8, 10, 12))
    assert warned.warned
    assert not warned.breached
    assert warned.next_alert_at is not None
    assert warned.next_alert_at > warned.deadline
    on_time = timer.state(paris(2026, 6, 8, 11))
    assert not on_time.breached
    late = timer.state(paris(2026, 6, 8, 12))
    assert late.breached
    assert late.overrun == hours(1)
    assert late.remaining == timedelta(0)
    assert late.next_alert_at is None


def test_a_calendar_timer_counts_every_hour() -> None:
    timer = SlaTimer(paris(2026, 10, 24, 23), hours(4))
    assert timer.clock is ClockKind.CALENDAR
    state = timer.state(paris(2026, 10, 25, 1))
    assert state.deadline == datetime(2026, 10, 25, 1, tzinfo=UTC)
    assert state.warning_at == datetime(2026, 10, 25, 0, 12, tzinfo=UTC)
    assert state.elapsed == hours(2)


def test_pausing_and_resuming_a_timer_is_recorded() -> None:
    timer = SlaTimer(paris(2026, 6, 8, 8), hours(4), OFFICE)
    paused = timer.pause(paris(2026, 6, 8, 10), "waiting on a third party")
    assert paused.paused
    assert paused.deadline() is None
    during = paused.state(paris(2026, 6, 8, 11))
    assert during.paused
    assert during.elapsed == hours(2)
    assert during.paused_time == hours(1)
    assert during.deadline == paris(2026, 6, 8, 13)  # were it to resume now
    assert during.next_alert_at is None
    assert not during.breached
    with pytest.raises(Conflict):
        paused.pause(paris(2026, 6, 8, 11), "again")
    resumed = paused.resume(paris(2026, 6, 8, 14))
    assert not resumed.paused
    assert resumed.pauses == (
        Pause(paris(2026, 6, 8, 10), paris(2026, 6, 8, 14), "waiting on a third party"),
    )
    assert resumed.deadline() == paris(2026, 6, 8, 16)
    assert resumed.state(paris(2026, 6, 8, 15)).paused_time == hours(4)
    with pytest.raises(Conflict):
        resumed.resume(paris(2026, 6, 8, 15))
    with pytest.raises(InvalidInput):
        resumed.pause(paris(2026, 6, 8, 13), "before the last pause ended")


def test_a_pause_after_the_breach_does_not_lift_it() -> None:
    timer = SlaTimer(paris(2026, 6, 8, 8), hours(2), OFFICE).pause(paris(2026, 6, 8, 12), "late")
    state = timer.state(paris(2026, 6, 8, 13))
    assert state.paused
    assert state.breached
    assert state.deadline == paris(2026, 6, 8, 10)


def test_a_state_before_the_start_reads_as_the_start() -> None:
    state = SlaTimer(paris(2026, 6, 8, 8), hours(2), OFFICE).state(paris(2026, 6, 8, 7))
    assert state.elapsed == timedelta(0)
    assert state.now == paris(2026, 6, 8, 8)


# --- validation -----------------------------------------------------------------------------


def test_a_calendar_spec_round_trips_through_plain_data() -> None:
    spec = parse_calendar_spec(
        {"hours": {"mon": ["13:30-17:30", "8:00-12:00"]}, "closed_dates": ["2026-08-14"]}
    )
    assert spec.hours == {"mon": ("08:00-12:00", "13:30-17:30")}
    assert parse_calendar_spec(spec.model_dump(mode="json")) == spec
    assert BusinessCalendar.from_spec(spec.model_dump(mode="json")).spec == spec


@pytest.mark.parametrize(
    ("data", "loc", "words"),
    [
        ({"hours": {"mon": ["8h-18h"]}}, "hours.mon.0", "write it like"),
        ({"hours": {"mon": ["18:00-08:00"]}}, "hours.mon.0", "ends before it starts"),
        ({"hours": {"mon": ["08:00-24:30"]}}, "hours.mon.0", "24:00 is the latest"),
        ({"hours": {"mon": ["25:00-26:00"]}}, "hours.mon.0", "does not exist"),
        ({"hours": {"mon": ["08:00-12:00", "11:00-14:00"]}}, "hours", "overlap"),
        ({"hours": {"lun": ["08:00-12:00"]}}, "hours.lun.[key]", "mon"),
        ({"hours": {}}, "hours", "no working window"),
        ({"timezone": "Europe/Lutece"}, "timezone", "unknown time zone"),
        ({"holidays_country": "XX"}, "calendar", "public holidays unknown"),
        ({"holidays_subdivision": "99"}, "calendar", "public holidays unknown"),
        ({"closed_dates": ["someday"]}, "closed_dates.0", "date"),
        ({"opening": "never"}, "opening", "Extra inputs"),
    ],
)
def test_a_bad_calendar_spec_says_where_and_why(
    data: dict[str, object], loc: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_calendar_spec(data)
    assert caught.value.code == "invalid_calendar"
    problems = caught.value.details
    assert any(p["loc"] == loc and words in p["message"] for p in problems), problems


def test_naive_instants_and_impossible_durations_are_refused() -> None:
    naive = datetime(2026, 6, 8, 9)
    with pytest.raises(InvalidInput, match="time zone"):
        add_duration(naive, hours(1), OFFICE)
    with pytest.raises(InvalidInput, match="time zone"):
        elapsed(paris(2026, 6, 8, 9), naive)
    with pytest.raises(InvalidInput, match="time zone"):
        Pause(naive, None, "x")
    with pytest.raises(InvalidInput, match="negative"):
        add_duration(paris(2026, 6, 8, 9), hours(-1))
    with pytest.raises(InvalidInput, match="before start"):
        elapsed(paris(2026, 6, 8, 9), paris(2026, 6, 8, 8))
    with pytest.raises(InvalidInput, match="before it starts"):
        Pause(paris(2026, 6, 8, 9), paris(2026, 6, 8, 8), "x")
    with pytest.raises(InvalidInput, match="reason"):
        Pause(paris(2026, 6, 8, 9), None, "  ")
    with pytest.raises(InvalidInput, match="positive"):
        SlaTimer(paris(2026, 6, 8, 9), timedelta(0))
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        SlaTimer(paris(2026, 6, 8, 9), hours(1), warning_fraction=1.0)


# --- properties -----------------------------------------------------------------------------

# Instants are drawn near the year's irregular days more often than anywhere else.
HOT_SPOTS = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # spring forward
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # fall back
    datetime(2026, 5, 1, tzinfo=UTC),
    datetime(2026, 5, 8, tzinfo=UTC),
    datetime(2026, 5, 14, tzinfo=UTC),
    datetime(2026, 12, 25, tzinfo=UTC),
]
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def instants(draw: st.DrawFn, *, whole_minutes: bool = False) -> datetime:
    if draw(st.booleans()):
        base = draw(st.sampled_from(HOT_SPOTS))
        minutes = draw(st.integers(-4 * 24 * 60, 2 * 24 * 60))
    else:
        base = YEAR_START
        minutes = draw(st.integers(0, 365 * 24 * 60))
    instant = base + timedelta(minutes=minutes)
    if not whole_minutes:
        instant += timedelta(microseconds=draw(st.integers(0, 60_000_000 - 1)))
    zone = draw(st.sampled_from([UTC, PARIS, timezone(timedelta(hours=-5, minutes=-30))]))
    return instant.astimezone(zone)


# Window boundaries on the half hour; 02:30 is left out because it is repeated when the clocks
# go back, where the calendar takes its first occurrence and the minute-by-minute oracle below
# both (a choice tested as a worked example above).
BOUNDARIES = [m for m in range(0, 24 * 60 + 1, 30) if m != 150]


@st.composite
def day_windows(draw: st.DrawFn) -> tuple[str, ...]:
    count = draw(st.integers(0, 2))
    cuts = sorted(
        draw(st.sets(st.sampled_from(BOUNDARIES), min_size=2 * count, max_size=2 * count))
    )
    return tuple(
        f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"
        for a, b in zip(cuts[::2], cuts[1::2], strict=True)
    )


@st.composite
def random_calendars(draw: st.DrawFn) -> BusinessCalendar:
    week = {day: draw(day_windows()) for day in WEEKDAYS}
    if not any(week.values()):
        week["wed"] = ("09:00-17:00",)
    closed = draw(st.lists(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=5))
    return BusinessCalendar(CalendarSpec(hours=week, closed_dates=tuple(closed)))


calendars = st.one_of(st.sampled_from(FIXED_CALENDARS), random_calendars())
clocks = st.one_of(st.none(), calendars)
durations = st.integers(0, 120 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us))
FRENCH_HOLIDAYS = holidays.country_holidays("FR", years=range(2025, 2028))


def minutes_counted_by_the_wall_clock(
    start: datetime, end: datetime, calendar: BusinessCalendar
) -> int:
    """The oracle: a UTC minute counts when its local date is open and its local wall time lies
    in one of that weekday's windows."""
    counted = 0
    minute = start.astimezone(UTC)
    while minute < end:
        local = minute.astimezone(PARIS)
        day = local.date()
        public_holiday = calendar.spec.holidays_country is not None and day in FRENCH_HOLIDAYS
        open_day = not public_holiday and day not in calendar.spec.closed_dates
        wall = local.hour * 60 + local.minute
        for text in calendar.spec.hours.get(WEEKDAYS[day.weekday()], ()):
            a, b = (int(t[:2]) * 60 + int(t[3:]) for t in text.split("-"))
            if open_day and a <= wall < b:
                counted += 1
                break
        minute += timedelta(minutes=1)
    return counted


@settings(max_examples=40, deadline=None)
@given(
    calendars,
    instants(whole_minutes=True),
    st.integers(0, 3 * 24 * 60).map(lambda m: timedelta(minutes=m)),
)
def test_elapsed_business_time_agrees_with_the_wall_clock_minute_by_minute(
    calendar: BusinessCalendar, start: datetime, span: timedelta
) -> None:
    end = start.astimezone(UTC) + span
    expected = minutes_counted_by_the_wall_clock(start, end, calendar)
    assert elapsed(start, end, calendar) == timedelta(minutes=expected)


@settings(max_examples=80, deadline=None)
@given(clocks, instants(), durations)
def test_counting_up_to_the_deadline_gives_back_the_duration(
    calendar: BusinessCalendar | None, start: datetime, duration: timedelta
) -> None:
    deadline = add_duration(start, duration, calendar)
    assert is_aware_utc(deadline)
    assert deadline >= start
    assert elapsed(start, deadline, calendar) == duration
    if calendar is None:
        assert deadline == start.astimezone(UTC) + duration
    elif duration:
        # The earliest such instant: a moment earlier, the duration was not yet reached.
        assert elapsed(start, deadline - timedelta(microseconds=1), calendar) < duration


@settings(max_examples=50, deadline=None)
@given(clocks, instants(), durations, durations)
def test_a_longer_duration_never_falls_earlier(
    calendar: BusinessCalendar | None, start: datetime, a: timedelta, b: timedelta
) -> None:
    shorter, longer = sorted((a, b))
    assert add_duration(start, shorter, calendar) <= add_duration(start, longer, calendar)


@st.composite
def disjoint_pauses(draw: st.DrawFn, start: datetime) -> list[Pause]:
    offsets = sorted(
        draw(
            st.sets(st.integers(-24 * 60, 8 * 24 * 60), max_size=8).filter(
                lambda s: len(s) % 2 == 0
            )
        )
    )
    utc_start = start.astimezone(UTC)
    return [
        Pause(utc_start + timedelta(minutes=a), utc_start + timedelta(minutes=b), f"pause {i}")
        for i, (a, b) in enumerate(zip(offsets[::2], offsets[1::2], strict=True))
    ]


@settings(max_examples=60, deadline=None)
@given(clocks, instants(), durations, st.data())
def test_pauses_push_the_deadline_later_by_exactly_the_working_time_they_cover(
    calendar: BusinessCalendar | None, start: datetime, duration: timedelta, data: st.DataObject
) -> None:
    pauses = data.draw(disjoint_pauses(start))
    plain = add_duration(start, duration, calendar)
    paused = deadline_with_pauses(start, duration, calendar, pauses)
    assert paused is not None
    assert is_aware_utc(paused)
    assert paused >= plain
    covered = timedelta(0)
    for pause in pauses:
        assert pause.ended_at is not None
        low, high = max(pause.started_at, start), min(pause.ended_at, paused)
        if low < high:
            covered += elapsed(low, high, calendar)
    assert elapsed(start, paused, calendar) == duration + covered
    assert elapsed(start, paused, calendar, pauses) == duration
    # Order, repetition and overlap do not matter: a pause counts once.
    shuffled = data.draw(st.permutations(pauses))
    doubled = [*shuffled, *pauses[:2]]
    assert deadline_with_pauses(start, duration, calendar, doubled) == paused


@settings(max_examples=60, deadline=None)
@given(
    clocks,
    instants(),
    durations.filter(bool),
    st.floats(0.05, 0.95),
    st.integers(0, 10 * 24 * 60),
)
def test_the_warning_point_lies_between_start_and_deadline(
    calendar: BusinessCalendar | None,
    start: datetime,
    target: timedelta,
    fraction: float,
    minutes_later: int,
) -> None:
    timer = SlaTimer(start, target, calendar, warning_fraction=fraction)
    state = timer.state(start.astimezone(UTC) + timedelta(minutes=minutes_later))
    assert timer.started_at <= state.warning_at <= state.deadline
    for instant in (state.started_at, state.now, state.deadline, state.warning_at):
        assert is_aware_utc(instant)
    if state.breached:
        assert state.elapsed >= target
    else:
        assert state.elapsed <= target
    assert state.warned == (state.now >= state.warning_at)
    assert state.remaining + state.elapsed - state.overrun == target


def test_adjacent_windows_behave_like_one() -> None:
    joined = BusinessCalendar(CalendarSpec(hours={"mon": ("08:00-12:00", "12:00-18:00")}))
    for start in (paris(2026, 6, 8, 7), paris(2026, 6, 8, 11, 59)):
        for minutes in (0, 1, 60, 240, 600, 601):
            duration = timedelta(minutes=minutes)
            assert add_duration(start, duration, joined) == add_duration(
                start, duration, BusinessCalendar(CalendarSpec(hours={"mon": ("08:00-18:00",)}))
            )


def test_windows_are_ordered_and_disjoint_all_year() -> None:
    for calendar in FIXED_CALENDARS:
        windows = [
            w for n in range(366) for w in calendar.windows_on(date(2026, 1, 1) + timedelta(n))
        ]
        for (a, b), (c, _) in pairwise(windows):
            assert a < b <= c
