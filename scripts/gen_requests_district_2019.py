#!/usr/bin/env python3
"""Writes fixtures/requests/district-2019/: the district's request system to end of October 2019.

The district (盐田区, Yantian) published these figures for residents' requests through its request
system, to the end of October 2019 (see the domain notes): 11,613 accepted, 11,518 completed
(completion rate 99.18 % = 11,518 / 11,613), satisfaction rate 99.42 %. This script turns them into
request records the `requests` standard can score, so that its report reproduces them:

    RQ-COMPLETION    11,518 / 11,613 = 99.18 %   (completed / accepted)
    RQ-SATISFACTION  11,110 / 11,175 = 99.42 %   ((satisfied + basically satisfied) / rated)

Only those figures are published. The district did not publish how many requests were rated, so
the script chooses 11,175 of the 11,518 completed requests as rated (343 requesters declined,
rated "none"), 11,110 of them satisfied or basically satisfied and 65 dissatisfied: 11,110 / 11,175
= 0.994183 rounds to the published 99.42 % (with every completed request rated, 11,451 / 11,518
would do as well; the published rate does not say which). Everything else is illustrative and
drawn from a seeded generator, so every run writes the same bytes:

- the 95 accepted requests not completed: 15 transferred to a body outside the system (with
  destination and reason) and 80 still open at the end of October (received from 14 October on,
  so none is yet past its deadline);
- 127 requests rejected at intake (status rejected, no accepted_at, with a reason), beyond the
  11,613 accepted: they are not among the accepted, so they stay out of every rate;
- 46 completions past the 15-working-day deadline, 60 within an extension approved in time, 23
  first contacts later than 24 hours, 4 urgent requests contacted after more than 2 hours;
- the 65 dissatisfied requests reopened, reworked and rated again.

No personal data is written (no requester, no free-text summary). 2019 is outside the holiday
calendar, so working days are counted Monday to Friday (as the report notes, and as this script
does). Dates and times are written compactly ("2019-03-05 09:12", Beijing time).

Usage:
    python3 scripts/gen_requests_district_2019.py           # (re)write the folder
    python3 scripts/gen_requests_district_2019.py --check   # exit 1 if the committed files differ

Python 3 standard library only; no clock, no unseeded randomness.
"""

import datetime as dt
import json
import random
import sys
from pathlib import Path

import fixture_folder

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "requests" / "district-2019"
START = dt.datetime(2019, 1, 1, 0, 0)
END_DAY = dt.date(2019, 10, 31)
END = dt.datetime(2019, 10, 31, 23, 59)

ACCEPTED = 11613
COMPLETED = 11518
TRANSFERRED = 15
OPEN = ACCEPTED - COMPLETED - TRANSFERRED  # 80
REJECTED_AT_INTAKE = 127
RATED = 11175
SATISFIED_OR_BASIC = 11110
LATE = 46
EXTENDED = 60
LATE_CONTACT = 23
URGENT_LATE_CONTACT = 4
OPEN_FROM = dt.date(2019, 10, 14)  # open requests were received from here on: none overdue

DEADLINE = 15  # working days (the standard's default complete_working_days)

CHANNELS = ["hotline"] * 5 + ["app"] * 3 + ["online"] * 1 + ["visit"] * 1 + ["letter"] * 1
CATEGORIES = {
    "urban": "已清理整治", "environment": "已清理", "traffic": "已疏导整改", "housing": "已督促物业整改",
    "utilities": "已抢修恢复", "safety": "已排除隐患", "order": "已处置", "welfare": "已答复办理",
    "health": "已答复", "education": "已协调答复", "labour": "已协调解决", "market": "已查处",
    "other": "已答复",
}
CATEGORY_WEIGHTS = ["urban"] * 6 + ["environment"] * 5 + ["traffic"] * 4 + ["housing"] * 5 + \
    ["utilities"] * 3 + ["safety"] * 2 + ["order"] * 2 + ["welfare"] * 2 + ["health"] * 1 + \
    ["education"] * 1 + ["labour"] * 2 + ["market"] * 2 + ["other"] * 1
UNITS = ["沙头角街道", "海山街道", "盐田街道", "梅沙街道", "区城管局", "区住建局", "区交通局",
         "区市场监管局", "区人力资源局", "区卫健局", "区教育局", "供水公司", "供电局"]
TRANSFER_TO = [("市规划和自然资源局", "属市级事权"), ("市交通运输局", "属市级事权"),
               ("邻区政府", "发生地不在本区"), ("区法院", "属司法程序中事项")]
REJECTIONS = ["属司法诉讼程序中事项", "重复诉求，已并入原诉求办理", "不属于行政事项",
              "诉求内容已由其他渠道办结"]


def working_days_between(a, b):
    """Monday-to-Friday days after date `a` up to and including date `b` (2019 is outside the
    holiday calendar); negative never needed here."""
    n, d = 0, a
    while d < b:
        d += dt.timedelta(days=1)
        if d.weekday() < 5:
            n += 1
    return n


def add_working_days(day, n):
    while n > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def fmt(t):
    return t.strftime("%Y-%m-%d %H:%M")


def at(day, minutes):
    return dt.datetime.combine(day, dt.time(0, 0)) + dt.timedelta(minutes=minutes)


def receipts(rng, count):
    """`count` receipt times over the period: busier on weekdays, during the day."""
    days = []
    d = START.date()
    while d <= END_DAY:
        days.append(d)
        d += dt.timedelta(days=1)
    weights = [3 if day.weekday() < 5 else 1 for day in days]
    out = []
    for day in rng.choices(days, weights=weights, k=count):
        out.append(at(day, rng.randint(7 * 60 + 30, 21 * 60 + 30)))
    out.sort()
    return out


def build_records(rng):
    total = ACCEPTED + REJECTED_AT_INTAKE
    times = receipts(rng, total)
    # Which receipts are rejected at intake: any, spread over the period.
    rejected = set(rng.sample(range(total), REJECTED_AT_INTAKE))
    accepted_idx = [i for i in range(total) if i not in rejected]
    assert len(accepted_idx) == ACCEPTED
    late_oct = [i for i in accepted_idx if times[i].date() >= OPEN_FROM]
    open_idx = set(rng.sample(late_oct, OPEN))
    others = [i for i in accepted_idx if i not in open_idx]
    transferred_idx = set(rng.sample(others, TRANSFERRED))
    completed_idx = [i for i in others if i not in transferred_idx]
    assert len(completed_idx) == COMPLETED
    # Completions that need room before the period's end: late ones, extended ones and the
    # dissatisfied (reopened and reworked) ones come from requests received by 31 August.
    early = [i for i in completed_idx if times[i].date() <= dt.date(2019, 8, 31)]
    chosen = rng.sample(early, LATE + EXTENDED + 65)
    late_idx = set(chosen[:LATE])
    extended_idx = set(chosen[LATE:LATE + EXTENDED])
    dissatisfied_idx = set(chosen[LATE + EXTENDED:])
    rest = [i for i in completed_idx if i not in dissatisfied_idx]
    none_idx = set(rng.sample(rest, COMPLETED - RATED))
    assert len(rest) - len(none_idx) == SATISFIED_OR_BASIC
    late_contact_idx = set(rng.sample(
        [i for i in accepted_idx if times[i].date() <= dt.date(2019, 10, 20)], LATE_CONTACT))

    urgent = {i for i in accepted_idx if rng.random() < 0.06} - late_contact_idx
    urgent |= {i for i in rejected if rng.random() < 0.02}
    urgent_late = set(rng.sample(sorted(urgent - open_idx), URGENT_LATE_CONTACT))

    lines = []
    for i, received in enumerate(times):
        category = rng.choice(CATEGORY_WEIGHTS)
        rec = {
            "id": f"R{i + 1:05d}",
            "received_at": fmt(received),
            "channel": rng.choice(CHANNELS),
            "category": category,
            "urgency": "urgent" if i in urgent else "normal",
        }
        if i in rejected:
            decided = received + dt.timedelta(minutes=rng.randint(10, 180))
            rec.update({
                "status": "rejected",
                "rejected_at": fmt(decided),
                "rejection_reason": rng.choice(REJECTIONS),
                "notified_at": fmt(decided + dt.timedelta(minutes=rng.randint(5, 60))),
            })
            lines.append(rec)
            continue
        accepted = received + dt.timedelta(minutes=rng.randint(1, 30))
        if i in urgent_late:
            contact = received + dt.timedelta(minutes=rng.randint(150, 360))
        elif i in urgent:
            contact = received + dt.timedelta(minutes=rng.randint(10, 100))
        elif i in late_contact_idx:
            contact = received + dt.timedelta(minutes=rng.randint(25 * 60, 40 * 60))
        else:
            contact = received + dt.timedelta(minutes=rng.randint(20, 20 * 60))
        contact = max(min(contact, END - dt.timedelta(minutes=5)), accepted)
        rec["accepted_at"] = fmt(accepted)
        rec["responded_at"] = fmt(contact)
        if i in transferred_idx:
            to, why = rng.choice(TRANSFER_TO)
            moved = contact + dt.timedelta(hours=rng.randint(1, 48))
            rec.update({
                "status": "transferred",
                "transferred_at": fmt(moved),
                "transfer_to": to,
                "transfer_reason": why,
                "notified_at": fmt(moved + dt.timedelta(minutes=rng.randint(10, 240))),
            })
            lines.append(rec)
            continue
        rec["handling_unit"] = rng.choice(UNITS)
        if i in open_idx:
            rec["status"] = "open"
            lines.append(rec)
            continue
        # Completed: how many working days it took.
        room = working_days_between(received.date(), END_DAY)
        if i in late_idx:
            days = rng.randint(DEADLINE + 1, DEADLINE + 7)
        elif i in extended_idx:
            days = rng.randint(DEADLINE + 1, DEADLINE + 10)
            approved = add_working_days(received.date(), rng.randint(5, DEADLINE))
            rec["extension"] = {"approved_at": fmt(at(approved, rng.randint(9 * 60, 17 * 60))),
                                "working_days": 10, "reason": "需协调多部门联合处置"}
        elif i in urgent:
            days = rng.randint(0, 2)
        else:
            days = rng.choice([0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
        days = min(days, room)
        done_day = add_working_days(received.date(), days)
        done = at(done_day, rng.randint(9 * 60, 18 * 60))
        floor = contact + dt.timedelta(minutes=30)
        if done < floor:
            done = floor
        done = min(done, END - dt.timedelta(minutes=3))
        if done < contact:  # received in the period's last minutes: completed at once
            done = contact
        notified = min(done + dt.timedelta(minutes=rng.randint(5, 3 * 24 * 60 - 60)), END - dt.timedelta(minutes=2))
        if notified.date() > done.date() + dt.timedelta(days=3):
            notified = done + dt.timedelta(minutes=10)
        rated = min(done + dt.timedelta(minutes=rng.randint(60, 6 * 24 * 60)), END - dt.timedelta(minutes=1))
        rated = max(rated, done)
        rec.update({
            "completed_at": fmt(done),
            "result": CATEGORIES[category],
            "notified_at": fmt(max(notified, done)),
            "rated_at": fmt(rated),
            "status": "completed",
        })
        if i in none_idx:
            rec["satisfaction"] = "none"
        elif i in dissatisfied_idx:
            rec["satisfaction"] = "dissatisfied"
            reopened = done + dt.timedelta(days=rng.randint(1, 8), minutes=rng.randint(0, 300))
            redone_day = add_working_days(reopened.date(), rng.randint(1, 10))
            redone = max(at(redone_day, rng.randint(9 * 60, 18 * 60)), reopened + dt.timedelta(hours=1))
            assert redone < END
            rec["rework"] = {"reopened_at": fmt(reopened), "completed_at": fmt(redone),
                             "result": "重新办理，" + CATEGORIES[category],
                             "satisfaction": rng.choice(["satisfied", "basically_satisfied", "basically_satisfied", "dissatisfied"])}
        else:
            rec["satisfaction"] = "satisfied" if rng.random() < 0.86 else "basically_satisfied"
        lines.append(rec)

    # The published figures, recounted from the records.
    acc = [r for r in lines if not (r["status"] == "rejected" and "accepted_at" not in r)]
    done = [r for r in acc if r["status"] == "completed"]
    rated = [r for r in done if r["satisfaction"] != "none"]
    happy = [r for r in rated if r["satisfaction"] in ("satisfied", "basically_satisfied")]
    assert (len(acc), len(done), len(rated), len(happy)) == (ACCEPTED, COMPLETED, RATED, SATISFIED_OR_BASIC)
    assert f"{len(done) / len(acc):.2%}" == "99.18%" and f"{len(happy) / len(rated):.2%}" == "99.42%"
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in lines)


MANIFEST = """\
# 盐田区 (Yantian district) request system, 1 January to 31 October 2019 ("to end of October
# 2019"), rebuilt from the figures the district published: 11,613 requests accepted, 11,518
# completed (99.18 %), satisfaction 99.42 %. The report gives RQ-COMPLETION 11,518 / 11,613 and
# RQ-SATISFACTION 11,110 / 11,175 (the rated count is this fixture's choice: the district did not
# publish it). requests.jsonl also holds 127 requests rejected at intake (status rejected, no
# accepted_at), which are not among the 11,613 accepted. Only the totals are published: the
# individual records are illustrative and carry no personal data. There is no staff list (optional
# evidence for this standard). 2019 is outside the holiday calendar: working days are counted
# Monday to Friday, as the report notes.
# Generated by scripts/gen_requests_district_2019.py: do not edit by hand.
#   yardstick report fixtures/requests/district-2019
organisation: {name: 盐田区（区民意诉求系统，据公布数据重建）}
contract: {id: YT-MY-2019-PUBLISHED, buyer: 盐田区人民政府}
standard: requests
period: {start: 2019-01-01, end: 2019-10-31}
calendar: cn-mainland
"""


def build():
    rng = random.Random(20191031)
    return {
        "submission.yaml": MANIFEST,
        "requests.jsonl": build_records(rng),
    }


if __name__ == "__main__":
    sys.exit(fixture_folder.main(sys.argv, OUT, build, __doc__))
