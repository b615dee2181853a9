import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from store.availability import Holding, Occupancy, Reason, check, search_range
from store.policy import BookingPolicy, OpeningWindow
from tests.store.conftest import NOW, make_policy

WED = dt.date(2026, 12, 2)
FRI = dt.date(2026, 12, 4)
SAT = dt.date(2026, 12, 5)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def judge(policy: BookingPolicy, starts_at: dt.datetime, party: int, *holdings: Holding):
    return check(policy, starts_at, party, Occupancy(holdings), NOW, search_days=7)


def test_check_open_slot_is_available(policy):
    answer = judge(policy, at(WED, 19, 30), 4)
    assert answer.available
    assert answer.reason is Reason.AVAILABLE
    assert answer.seats_left == 20
    assert answer.alternatives == ()


def test_check_party_limits(policy):
    assert judge(policy, at(WED, 19), 0).reason is Reason.PARTY_TOO_SMALL
    too_large = judge(policy, at(WED, 19), 9)
    assert too_large.reason is Reason.PARTY_TOO_LARGE
    assert too_large.alternatives == ()


def test_check_past_and_minimum_notice(policy):
    assert judge(policy, at(dt.date(2026, 11, 30), 19), 2).reason is Reason.IN_PAST
    # 10:00 now, 60 minutes notice: 10:30 is too soon even if it were open.
    assert judge(policy, at(NOW.date(), 10, 30), 2).reason is Reason.TOO_SOON
    assert judge(policy, at(NOW.date(), 12), 2).available


def test_check_outside_hours_offers_same_day_alternatives_nearest_first(policy):
    answer = judge(policy, at(WED, 17), 2)
    assert answer.reason is Reason.CLOSED
    # Lunch seats until 14:30 (150 min away), dinner from 19:00 (120 min); ties go earlier.
    assert answer.alternatives == (at(WED, 19), at(WED, 14, 30), at(WED, 19, 30))


def test_check_last_seating_before_close(policy):
    assert judge(policy, at(WED, 22, 30), 2).available
    assert judge(policy, at(WED, 23), 2).reason is Reason.CLOSED


def test_check_off_slot_time(policy):
    answer = judge(policy, at(WED, 19, 10), 2)
    assert answer.reason is Reason.OFF_SLOT
    assert answer.alternatives[0] == at(WED, 19)


def test_check_closed_date_moves_to_next_open_day(policy):
    christmas = dt.date(2026, 12, 25)
    answer = judge(policy, at(christmas, 20), 2)
    assert answer.reason is Reason.CLOSED_DATE
    assert answer.alternatives and all(a.date() > christmas for a in answer.alternatives)
    assert answer.alternatives[0] == at(christmas + dt.timedelta(days=1), 20)


def test_check_window_crossing_midnight(policy):
    # Friday's dinner runs to 01:00 on Saturday: the last seating is Saturday 00:00.
    assert judge(policy, at(SAT, 0), 2).available
    assert judge(policy, at(SAT, 0, 30), 2).reason is Reason.CLOSED
    # Wednesday's dinner closes at 23:30, so Thursday 00:00 is closed.
    assert judge(policy, at(WED + dt.timedelta(days=1), 0), 2).reason is Reason.CLOSED


def test_check_capacity_counts_overlapping_holdings_only(policy):
    earlier = Holding(at(WED, 18), 90, 10)  # ends 19:30
    overlapping = Holding(at(WED, 20), 90, 12)
    answer = judge(policy, at(WED, 19, 30), 8, earlier, overlapping)
    assert answer.available
    assert answer.seats_left == 8
    answer = judge(policy, at(WED, 19, 30), 8, earlier, overlapping, Holding(at(WED, 19), 90, 1))
    assert answer.reason is Reason.FULL
    assert answer.seats_left == 7


def test_check_peak_not_sum_of_overlaps(policy):
    # Two parties of 10 that never overlap each other each overlap the request.
    first = Holding(at(WED, 19), 90, 10)
    second = Holding(at(WED, 20, 30), 90, 10)
    answer = judge(policy, at(WED, 19, 30), 8, first, second)
    assert answer.available
    assert answer.seats_left == 10
    tighter = judge(make_policy(seat_capacity=17), at(WED, 19, 30), 8, first, second)
    assert tighter.reason is Reason.FULL


def test_check_full_slot_alternatives_fit(policy):
    full = Holding(at(WED, 19, 30), 90, 20)
    answer = judge(policy, at(WED, 20), 4, full)
    assert answer.reason is Reason.FULL
    assert answer.alternatives
    for alternative in answer.alternatives:
        assert judge(policy, alternative, 4, full).available


def test_check_horizon_last_day(policy):
    last = NOW.date() + dt.timedelta(days=policy.horizon_days)
    lunch_day = last if last.isoweekday() != 7 else last - dt.timedelta(days=1)
    assert judge(policy, at(lunch_day, 13), 2).available or lunch_day != last
    beyond = judge(policy, at(last + dt.timedelta(days=1), 13), 2)
    assert beyond.reason is Reason.BEYOND_HORIZON
    assert all(a.date() <= last for a in beyond.alternatives)


def test_occupancy_peak_step_function():
    occupancy = Occupancy(
        [Holding(at(WED, 19), 60, 4), Holding(at(WED, 19, 30), 60, 3), Holding(at(WED, 21), 30, 5)]
    )
    assert occupancy.peak(at(WED, 18), at(WED, 19)) == 0
    assert occupancy.peak(at(WED, 19), at(WED, 19, 30)) == 4
    assert occupancy.peak(at(WED, 19), at(WED, 20, 30)) == 7
    assert occupancy.peak(at(WED, 20), at(WED, 21)) == 3
    assert occupancy.peak(at(WED, 20, 30), at(WED, 21)) == 0
    assert occupancy.peak(at(WED, 20, 45), at(WED, 22)) == 5


def test_search_range_covers_midnight_and_dining(policy):
    start, end = search_range(policy, at(FRI, 23, 30), 0)
    assert start <= at(FRI, 0)
    assert end >= at(SAT, 1) + dt.timedelta(minutes=policy.dining_minutes)


# Property tests. ---------------------------------------------------------------------------

times = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
windows = st.builds(OpeningWindow, times, times).filter(lambda w: w.opens != w.closes)
days = st.dates(dt.date(2026, 12, 1), dt.date(2027, 2, 1))
moments = st.builds(
    dt.datetime.combine, days, st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 30]))
)
holdings = st.lists(
    st.builds(Holding, moments, st.sampled_from([60, 90, 120]), st.integers(1, 8)), max_size=25
)


def _reference_peak(held: list[Holding], start: dt.datetime, end: dt.datetime) -> int:
    minute = dt.timedelta(minutes=1)
    peak, moment = 0, start
    while moment < end:
        peak = max(peak, sum(h.party_size for h in held if h.starts_at <= moment < h.ends_at))
        moment += minute * 15
    return peak


@settings(max_examples=150, deadline=None)
@given(held=holdings, start=moments)
def test_occupancy_peak_matches_minute_by_minute_count(held, start):
    end = start + dt.timedelta(minutes=90)
    assert Occupancy(held).peak(start, end) == _reference_peak(held, start, end)


@settings(max_examples=150, deadline=None)
@given(window=windows, starts_at=moments, party=st.integers(1, 8), held=holdings)
def test_check_available_means_every_rule_holds(window, starts_at, party, held):
    policy = make_policy(weekly_hours=dict.fromkeys(range(1, 8), (window,)))
    answer = check(policy, starts_at, party, Occupancy(held), NOW, search_days=2)
    for candidate in ((starts_at,) if answer.available else ()) + answer.alternatives:
        opening_day = next(
            day
            for day in (candidate.date(), candidate.date() - dt.timedelta(days=1))
            if (span := window.span_on(day))[0]
            <= candidate
            <= span[1] - dt.timedelta(minutes=policy.last_seating_minutes)
        )
        assert opening_day not in policy.closed_dates
        assert candidate.minute % policy.slot_minutes == 0
        assert candidate >= policy.local_now(NOW) + dt.timedelta(minutes=60)
        assert candidate.date() <= policy.local_now(NOW).date() + dt.timedelta(days=30)
        taken = _reference_peak(held, candidate, candidate + dt.timedelta(minutes=90))
        assert taken + party <= policy.seat_capacity


@settings(max_examples=100, deadline=None)
@given(window=windows.filter(lambda w: w.crosses_midnight), day=days)
def test_check_crossing_window_seats_after_midnight_on_opening_day_only(window, day):
    policy = make_policy(
        weekly_hours={day.isoweekday(): (window,)}, min_notice_minutes=0, closed_dates=frozenset()
    )
    opens, closes = window.span_on(day)
    last = closes - dt.timedelta(minutes=policy.last_seating_minutes)
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    answer = check(policy, midnight, 1, Occupancy([]), NOW)
    expected = opens <= midnight <= last
    if midnight.date() > NOW.date() + dt.timedelta(days=30):
        expected = False
    assert answer.available == expected


@settings(max_examples=60, deadline=None)
@given(horizon=st.integers(1, 60), offset=st.integers(-2, 2))
def test_check_horizon_boundary_is_inclusive(horizon, offset):
    always = OpeningWindow(dt.time(0, 0), dt.time(0, 0))  # 24 hours, every day
    policy = make_policy(
        weekly_hours=dict.fromkeys(range(1, 8), (always,)),
        horizon_days=horizon,
        last_seating_minutes=0,
        closed_dates=frozenset(),
    )
    day = NOW.date() + dt.timedelta(days=max(horizon + offset, 1))
    offset = (day - NOW.date()).days - horizon
    answer = check(policy, at(day, 13), 2, Occupancy([]), NOW)
    assert answer.available == (offset <= 0)
    if offset > 0:
        assert answer.reason is Reason.BEYOND_HORIZON


def test_check_closed_date_closes_its_window_past_midnight(policy):
    # 25 December 2026 is a Friday, closed; its late dinner would have seated at 00:00 on the 26th.
    assert judge(policy, at(dt.date(2026, 12, 26), 0), 2).reason is Reason.CLOSED
    assert judge(policy, at(dt.date(2026, 12, 19), 0), 2).available
