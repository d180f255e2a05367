"""Delivery schedules as a reader lives them: digests on time, quiet nights, clocks that jump.

Every test passes ``now`` explicitly; nothing reads the wall clock. Dates are 2025 (and leap
2024): Europe/Berlin changes clocks on 30 March (02:00 → 03:00) and 26 October (03:00 → 02:00),
America/New_York on 9 March (02:00 → 03:00) and 2 November (02:00 → 01:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.schedule import (
    DeliveryPlan,
    Mode,
    UnknownTimezone,
    digest_due,
    find_timezone,
    in_quiet_hours,
    next_digest_at,
    parse_clock,
    parse_quiet_hours,
    quiet_ends_at,
    release_at,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
KOLKATA = "Asia/Kolkata"  # UTC+05:30, no daylight saving
NIGHT = {"quiet_start": time(23), "quiet_end": time(7)}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def local(tz: str, *parts: int, fold: int = 0) -> datetime:
    """A wall-clock time in ``tz`` as a UTC instant (``fold=1``: the repeated hour's 2nd pass)."""
    return datetime(*parts, tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)


def wall(moment: datetime, tz: str) -> str:
    """What the reader's clock shows, with its offset, e.g. ``2025-03-30 03:00+02:00``."""
    return moment.astimezone(ZoneInfo(tz)).isoformat(" ", "minutes")


def digests(plan: DeliveryPlan, after: datetime, count: int) -> list[str]:
    """The next ``count`` digests as the reader's clock shows them."""
    shown = []
    for _ in range(count):
        after = next_digest_at(plan, after)
        shown.append(wall(after, plan.tz))
    return shown


# --- time zones -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Berlin", BERLIN),
        ("europe/berlin", BERLIN),
        ("  America/New_York ", NEW_YORK),
        ("america/new york", NEW_YORK),
        ("utc", "UTC"),
        ("GMT", "GMT"),
    ],
)
def test_zone_names_are_accepted_in_any_case(typed: str, zone: str) -> None:
    assert find_timezone(typed) == ZoneInfo(zone)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Berlin", BERLIN),
        ("new york", NEW_YORK),
        ("Europe/Berln", BERLIN),
        ("Amerca/New_Yrok", NEW_YORK),
        ("Kolkatta", KOLKATA),
    ],
)
def test_a_city_or_a_typo_is_answered_with_the_zone_meant(typed: str, meant: str) -> None:
    with pytest.raises(UnknownTimezone) as raised:
        find_timezone(typed)
    assert raised.value.suggestions[0] == meant
    assert len(raised.value.suggestions) <= 3
    assert meant in str(raised.value)


@pytest.mark.parametrize("typed", ["xyzzy", "", "../../etc/passwd"])
def test_nonsense_is_refused_without_suggestions(typed: str) -> None:
    with pytest.raises(UnknownTimezone) as raised:
        find_timezone(typed)
    assert raised.value.suggestions == ()
    assert isinstance(raised.value, ValueError)  # handlers can catch every input error alike


def test_the_servers_own_zone_is_no_choice_for_a_reader() -> None:
    with pytest.raises(UnknownTimezone):
        find_timezone("localtime")


# --- what people type -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "clock"),
    [("7:30", time(7, 30)), ("07:05", time(7, 5)), ("23", time(23)), (" 0:00 ", time(0)),
     ("7.30", time(7, 30))],
)  # fmt: skip
def test_times_of_day_are_read_as_people_write_them(typed: str, clock: time) -> None:
    assert parse_clock(typed) == clock


@pytest.mark.parametrize(
    ("typed", "explains"),
    [("24:00", "0 to 23"), ("7:60", "00 to 59"), ("seven", "HH:MM"), ("", "HH:MM"),
     ("7:5", "HH:MM")],
)  # fmt: skip
def test_a_wrong_time_of_day_says_what_is_wrong(typed: str, explains: str) -> None:
    with pytest.raises(ValueError, match=explains):
        parse_clock(typed)


@pytest.mark.parametrize(
    ("typed", "window"),
    [
        ("23:00-07:00", (time(23), time(7))),
        ("23-7", (time(23), time(7))),
        ("23:00–07:00", (time(23), time(7))),
        ("22:30 to 6:15", (time(22, 30), time(6, 15))),
        ("9-17", (time(9), time(17))),
        ("off", None),
        ("OFF", None),
    ],
)
def test_quiet_hours_are_read_as_people_write_them(
    typed: str, window: tuple[time, time] | None
) -> None:
    assert parse_quiet_hours(typed) == window


@pytest.mark.parametrize(
    ("typed", "explains"),
    [("7-7", "different"), ("23:00", "start-end"), ("23-25", "0 to 23"), ("late", "start-end")],
)
def test_wrong_quiet_hours_say_what_is_wrong(typed: str, explains: str) -> None:
    with pytest.raises(ValueError, match=explains):
        parse_quiet_hours(typed)


def test_a_plan_refuses_settings_that_cannot_be_followed() -> None:
    with pytest.raises(ValueError, match="time of day"):
        DeliveryPlan("daily")
    with pytest.raises(ValueError, match="both"):
        DeliveryPlan(quiet_start=time(23))
    with pytest.raises(UnknownTimezone):
        DeliveryPlan(tz="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="naive"):
        in_quiet_hours(DeliveryPlan(**NIGHT), datetime(2025, 1, 1, 12))


# --- quiet hours ----------------------------------------------------------------------------


@pytest.mark.parametrize("tz", [BERLIN, NEW_YORK, KOLKATA])
def test_quiet_hours_wrap_midnight_in_the_chats_own_time(tz: str) -> None:
    plan = DeliveryPlan(tz=tz, **NIGHT)
    assert not in_quiet_hours(plan, local(tz, 2025, 1, 14, 22, 59))
    assert in_quiet_hours(plan, local(tz, 2025, 1, 14, 23, 0))
    assert in_quiet_hours(plan, local(tz, 2025, 1, 15, 3, 0))
    assert in_quiet_hours(plan, local(tz, 2025, 1, 15, 6, 59))
    assert not in_quiet_hours(plan, local(tz, 2025, 1, 15, 7, 0))
    assert quiet_ends_at(plan, local(tz, 2025, 1, 14, 23, 30)) == local(tz, 2025, 1, 15, 7)
    assert quiet_ends_at(plan, local(tz, 2025, 1, 15, 1, 0)) == local(tz, 2025, 1, 15, 7)


def test_outside_quiet_hours_or_without_them_the_chat_is_open_now() -> None:
    now = local(BERLIN, 2025, 1, 15, 12)
    assert quiet_ends_at(DeliveryPlan(tz=BERLIN, **NIGHT), now) == now
    assert quiet_ends_at(DeliveryPlan(tz=BERLIN), now) == now
    assert not in_quiet_hours(DeliveryPlan(tz=BERLIN), now)


def test_daytime_quiet_hours_do_not_wrap() -> None:
    plan = DeliveryPlan(tz=KOLKATA, quiet_start=time(9), quiet_end=time(17, 30))
    assert in_quiet_hours(plan, local(KOLKATA, 2025, 6, 2, 12))
    assert not in_quiet_hours(plan, local(KOLKATA, 2025, 6, 2, 23))
    assert quiet_ends_at(plan, local(KOLKATA, 2025, 6, 2, 9)) == local(KOLKATA, 2025, 6, 2, 17, 30)


@pytest.mark.parametrize(
    ("tz", "day", "jump"),
    [
        (BERLIN, date(2025, 3, 30), "2025-03-30 03:00+02:00"),
        (NEW_YORK, date(2025, 3, 9), "2025-03-09 03:00-04:00"),
    ],
)
def test_quiet_hours_ending_in_the_skipped_hour_end_when_clocks_jump(
    tz: str, day: date, jump: str
) -> None:
    plan = DeliveryPlan(tz=tz, quiet_start=time(23), quiet_end=time(2, 30))
    before_jump = local(tz, day.year, day.month, day.day, 1, 59)
    assert in_quiet_hours(plan, before_jump)  # a minute before the clocks jump
    ends = quiet_ends_at(plan, before_jump)
    assert wall(ends, tz) == jump
    assert not in_quiet_hours(plan, ends)


@pytest.mark.parametrize(
    ("tz", "day", "end", "first_end", "second_pass"),
    [
        (BERLIN, date(2025, 10, 26), time(2, 30), "2025-10-26 02:30+02:00", (2, 15)),
        (NEW_YORK, date(2025, 11, 2), time(1, 30), "2025-11-02 01:30-04:00", (1, 10)),
    ],
)
def test_quiet_hours_ending_in_the_repeated_hour_end_at_its_first_pass(
    tz: str, day: date, end: time, first_end: str, second_pass: tuple[int, int]
) -> None:
    plan = DeliveryPlan(tz=tz, quiet_start=time(23), quiet_end=end)
    midnight = local(tz, day.year, day.month, day.day)
    assert wall(quiet_ends_at(plan, midnight), tz) == first_end
    repeated = local(tz, day.year, day.month, day.day, *second_pass, fold=1)
    assert not in_quiet_hours(plan, repeated)  # the clock reads 02:15 again: already open


def test_a_spring_night_is_an_hour_shorter_but_ends_on_the_same_clock_time() -> None:
    plan = DeliveryPlan(tz=NEW_YORK, quiet_start=time(22), quiet_end=time(6))
    starts = local(NEW_YORK, 2025, 3, 8, 22)
    ends = quiet_ends_at(plan, starts)
    assert wall(ends, NEW_YORK) == "2025-03-09 06:00-04:00"
    assert ends - starts == timedelta(hours=7)


# --- daily digests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "eve", "expected"),
    [
        (BERLIN, utc(2025, 3, 29, 12), ["2025-03-30 03:00+02:00", "2025-03-31 02:30+02:00"]),
        (NEW_YORK, utc(2025, 3, 8, 12), ["2025-03-09 03:00-04:00", "2025-03-10 02:30-04:00"]),
    ],
)
def test_a_daily_time_skipped_by_spring_forward_fires_once_when_clocks_jump(
    tz: str, eve: datetime, expected: list[str]
) -> None:
    plan = DeliveryPlan("daily", daily_at=time(2, 30), tz=tz)
    assert digests(plan, eve, 2) == expected


@pytest.mark.parametrize(
    ("tz", "daily_at", "eve", "expected"),
    [
        (BERLIN, time(2, 30), utc(2025, 10, 25, 12),
         ["2025-10-26 02:30+02:00", "2025-10-27 02:30+01:00"]),
        (NEW_YORK, time(1, 30), utc(2025, 11, 1, 12),
         ["2025-11-02 01:30-04:00", "2025-11-03 01:30-05:00"]),
    ],
)  # fmt: skip
def test_a_daily_time_repeated_by_fall_back_fires_once_at_its_first_pass(
    tz: str, daily_at: time, eve: datetime, expected: list[str]
) -> None:
    plan = DeliveryPlan("daily", daily_at=daily_at, tz=tz)
    assert digests(plan, eve, 2) == expected


@pytest.mark.parametrize(
    ("tz", "eve", "expected"),
    [
        (BERLIN, utc(2025, 3, 29), ["2025-03-29 08:00+01:00", "2025-03-30 08:00+02:00"]),
        (BERLIN, utc(2025, 10, 25), ["2025-10-25 08:00+02:00", "2025-10-26 08:00+01:00"]),
        (NEW_YORK, utc(2025, 3, 8), ["2025-03-08 08:00-05:00", "2025-03-09 08:00-04:00"]),
        (NEW_YORK, utc(2025, 11, 1), ["2025-11-01 08:00-04:00", "2025-11-02 08:00-05:00"]),
        (KOLKATA, utc(2025, 3, 29), ["2025-03-29 08:00+05:30", "2025-03-30 08:00+05:30"]),
    ],
)
def test_a_daily_digest_keeps_its_clock_time_across_daylight_saving(
    tz: str, eve: datetime, expected: list[str]
) -> None:
    plan = DeliveryPlan("daily", daily_at=time(8), tz=tz)
    assert digests(plan, eve, 2) == expected


@pytest.mark.parametrize("tz", [BERLIN, NEW_YORK, KOLKATA])
def test_a_daily_digest_inside_quiet_hours_waits_for_their_end(tz: str) -> None:
    plan = DeliveryPlan("daily", daily_at=time(6), tz=tz, **NIGHT)
    assert digests(plan, local(tz, 2025, 1, 14, 12), 2) == [
        wall(local(tz, 2025, 1, 15, 7), tz),
        wall(local(tz, 2025, 1, 16, 7), tz),
    ]


# --- hourly digests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "eve", "expected"),
    [
        (BERLIN, utc(2025, 10, 25, 23, 30),
         ["2025-10-26 02:00+02:00", "2025-10-26 02:00+01:00", "2025-10-26 03:00+01:00"]),
        (NEW_YORK, utc(2025, 11, 2, 4, 30),
         ["2025-11-02 01:00-04:00", "2025-11-02 01:00-05:00", "2025-11-02 02:00-05:00"]),
    ],
)  # fmt: skip
def test_hourly_digests_give_the_repeated_hour_its_own_digest(
    tz: str, eve: datetime, expected: list[str]
) -> None:
    plan = DeliveryPlan("hourly", tz=tz)
    assert digests(plan, eve, 3) == expected


@pytest.mark.parametrize(
    ("tz", "eve", "expected"),
    [
        (BERLIN, utc(2025, 3, 29, 23, 30),
         ["2025-03-30 01:00+01:00", "2025-03-30 03:00+02:00", "2025-03-30 04:00+02:00"]),
        (NEW_YORK, utc(2025, 3, 9, 5, 30),
         ["2025-03-09 01:00-05:00", "2025-03-09 03:00-04:00", "2025-03-09 04:00-04:00"]),
    ],
)  # fmt: skip
def test_hourly_digests_skip_no_real_hour_at_spring_forward(
    tz: str, eve: datetime, expected: list[str]
) -> None:
    plan = DeliveryPlan("hourly", tz=tz)
    shown = digests(plan, eve, 3)
    assert shown == expected
    first, second = (datetime.fromisoformat(s) for s in shown[:2])
    assert second - first == timedelta(hours=1)


def test_hourly_digests_follow_local_hours_in_a_half_hour_zone() -> None:
    plan = DeliveryPlan("hourly", tz=KOLKATA, **NIGHT)
    assert next_digest_at(plan, utc(2025, 1, 1, 12)) == utc(2025, 1, 1, 12, 30)  # 18:00 IST
    assert wall(next_digest_at(plan, utc(2025, 1, 1, 18)), KOLKATA) == "2025-01-02 07:00+05:30"


def test_hourly_digests_survive_a_half_hour_clock_change() -> None:
    # Lord Howe Island moves its clocks from 02:00 to 02:30: 02:30 is no full hour.
    plan = DeliveryPlan("hourly", tz="Australia/Lord_Howe")
    assert digests(plan, utc(2025, 10, 4, 14), 2) == [
        "2025-10-05 01:00+10:30",
        "2025-10-05 03:00+11:00",
    ]


# --- release and due ------------------------------------------------------------------------


def test_instant_news_goes_at_once_by_day_and_at_the_end_of_a_quiet_night() -> None:
    plan = DeliveryPlan(tz=BERLIN, **NIGHT)
    noon, midnight = local(BERLIN, 2025, 1, 15, 12), local(BERLIN, 2025, 1, 16)
    assert release_at(plan, noon) == noon
    assert release_at(plan, midnight) == local(BERLIN, 2025, 1, 16, 7)


def test_digest_news_waits_for_the_next_digest_even_if_one_is_going_out_now() -> None:
    hourly = DeliveryPlan("hourly", tz=NEW_YORK)
    daily = DeliveryPlan("daily", daily_at=time(8), tz=NEW_YORK)
    assert release_at(hourly, local(NEW_YORK, 2025, 1, 15, 9, 20)) == local(
        NEW_YORK, 2025, 1, 15, 10
    )
    assert release_at(daily, local(NEW_YORK, 2025, 1, 15, 8)) == local(NEW_YORK, 2025, 1, 16, 8)


@pytest.mark.parametrize("mode", ["instant", "hourly"])
def test_breaking_news_wakes_a_quiet_chat_unless_told_to_respect_the_night(mode: Mode) -> None:
    plan = DeliveryPlan(mode, tz=BERLIN, **NIGHT)
    night = local(BERLIN, 2025, 1, 16, 2)
    assert release_at(plan, night, breaking=True, breaking_respects_quiet=False) == night
    assert release_at(plan, night, breaking=True, breaking_respects_quiet=True) == local(
        BERLIN, 2025, 1, 16, 7
    )


@pytest.mark.parametrize("respects_quiet", [False, True])
def test_breaking_news_by_day_skips_the_digest(respects_quiet: bool) -> None:
    plan = DeliveryPlan("daily", daily_at=time(8), tz=BERLIN, **NIGHT)
    noon = local(BERLIN, 2025, 1, 15, 12)
    assert release_at(plan, noon, breaking=True, breaking_respects_quiet=respects_quiet) == noon


def test_digests_missed_while_the_worker_was_down_go_out_once() -> None:
    plan = DeliveryPlan("hourly", tz=BERLIN)
    last = local(BERLIN, 2025, 1, 15, 9)
    assert not digest_due(plan, last, local(BERLIN, 2025, 1, 15, 9, 59))
    back = local(BERLIN, 2025, 1, 15, 13, 17)  # 10:00, 11:00, 12:00 and 13:00 missed
    assert digest_due(plan, last, back)
    assert not digest_due(plan, back, local(BERLIN, 2025, 1, 15, 13, 59))
    assert digest_due(plan, back, local(BERLIN, 2025, 1, 15, 14))


def test_instant_chats_never_have_a_digest_due() -> None:
    plan = DeliveryPlan(tz=BERLIN)
    assert not digest_due(plan, utc(2025, 1, 1), utc(2025, 12, 31))
    with pytest.raises(ValueError, match="instant"):
        next_digest_at(plan, utc(2025, 1, 1))


# --- a whole year, minute by minute ---------------------------------------------------------


def run_worker(plan: DeliveryPlan, year: int) -> tuple[datetime, datetime, list[datetime]]:
    """A worker asking every minute of the chat's local year, sending when told to."""
    start = local(plan.tz, year, 1, 1)
    end = local(plan.tz, year + 1, 1, 1)
    last, now, sent = start, start, []
    minute = timedelta(minutes=1)
    while now < end:
        if digest_due(plan, last, now):
            sent.append(now)
            last = now
        now += minute
    return start, end, sent


def quiet_by_the_clock(plan: DeliveryPlan, moment: datetime) -> bool:
    """Quiet hours judged from the clock face alone (fine away from the repeated hour)."""
    shown = moment.astimezone(plan.zone).time()
    assert plan.quiet_start is not None and plan.quiet_end is not None
    if plan.quiet_start < plan.quiet_end:
        return plan.quiet_start <= shown < plan.quiet_end
    return shown >= plan.quiet_start or shown < plan.quiet_end


@pytest.mark.parametrize(
    ("plan", "year"),
    [
        (DeliveryPlan("daily", daily_at=time(2, 30), tz=BERLIN), 2025),
        (DeliveryPlan("daily", daily_at=time(1, 30), tz=NEW_YORK), 2025),
        (DeliveryPlan("daily", daily_at=time(7, 30), tz=KOLKATA, **NIGHT), 2024),
    ],
    ids=["berlin-02:30", "new-york-01:30", "kolkata-07:30-leap"],
)
def test_a_year_of_daily_digests_has_one_a_day(plan: DeliveryPlan, year: int) -> None:
    _, _, sent = run_worker(plan, year)
    days = [moment.astimezone(plan.zone).date() for moment in sent]
    assert len(sent) == (date(year + 1, 1, 1) - date(year, 1, 1)).days
    assert len(set(days)) == len(days)
    assert plan.daily_at is not None
    off_time = [m for m in sent if m.astimezone(plan.zone).time() != plan.daily_at]
    # Only on the spring-forward day, and then when the clocks jump to 03:00.
    assert [wall(m, plan.tz)[11:16] for m in off_time] == (
        ["03:00"] if plan.daily_at.hour == 2 else []
    )


@pytest.mark.parametrize(
    "plan",
    [
        DeliveryPlan("hourly", tz=BERLIN, **NIGHT),
        DeliveryPlan("hourly", tz=NEW_YORK),
        DeliveryPlan("hourly", tz=KOLKATA, **NIGHT),
    ],
    ids=["berlin-quiet", "new-york", "kolkata-quiet"],
)
def test_a_year_of_hourly_digests_has_one_per_real_hour_outside_quiet_hours(
    plan: DeliveryPlan,
) -> None:
    start, end, sent = run_worker(plan, 2025)
    quarter = timedelta(minutes=15)  # every full local hour of these zones lies on this grid
    full_hours = [
        start + i * quarter
        for i in range(1, (end - start) // quarter)
        if (start + i * quarter).astimezone(plan.zone).minute == 0
    ]
    if plan.has_quiet_hours:
        full_hours = [m for m in full_hours if not quiet_by_the_clock(plan, m)]
    assert sent == full_hours
