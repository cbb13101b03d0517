#!/usr/bin/env python3
"""Writes fixtures/mediation/district-2016-2019/: the district's people's mediation as a submission.

The district published these figures for people's mediation from 2016 to October 2019 (see the
domain notes): 4,129 disputes accepted, 4,091 resolved, a success rate of 99.1 %
(4,091 / 4,129 = 99.08 %). This script turns them into 4,129 mediation records that the
`mediation` standard can score, so that its report reproduces them:

    MD-SUCCESS  mediation success rate   4091 / 4129

Only those two totals are published. Everything else in the records (dates, kinds of dispute,
mediators, agreements, follow-ups, how the 38 unsettled disputes ended, which mediations ran
late) is illustrative, drawn from a seeded generator so that every run writes the same bytes; no
personal data is written (parties appear by role only, mediators by number).

What the report shows, then, is only partly the district's record. MD-SUCCESS (12 of the 100
points) is the published figure and nothing else. Every other rule and indicator scores fields
the district never published, which this script writes complete and on time except for the few
lapses counted below; the total (about 99.98) therefore says that the published success rate is
consistent with an excellent grade, not that the district earned one. An evaluator who wants the
district's score must read its files: the fixture is a regression test for the published rate. Of the 38 disputes
not settled, 25 failed, 10 were withdrawn and 3 were still in mediation at the end of October
2019; 19 mediations closed after their time limit, and the agreements whose follow-up would fall
after the period carry none yet. The period's years (2016-2019) lie outside the holiday calendar;
the standard counts no working days, so the report may say nothing about it.

Usage:
    python3 scripts/gen_mediation_district_2016_2019.py           # (re)write the folder
    python3 scripts/gen_mediation_district_2016_2019.py --check   # exit 1 if the committed files differ

Python 3 standard library only; no clock, no unseeded randomness. Running it rewrites only
fixtures/mediation/district-2016-2019/.
"""

import datetime as dt
import json
import random
import sys
from pathlib import Path

import fixture_folder

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "mediation" / "district-2016-2019"
START, END = dt.date(2016, 1, 1), dt.date(2019, 10, 31)
SEED = 20191031

ACCEPTED = 4129  # published
SETTLED = 4091   # published
FAILED, WITHDRAWN, ONGOING = 25, 10, 3  # illustrative split of the 38 not settled
LATE = 19        # illustrative: closed after the limit, no extension
EXTENDED = 40    # illustrative: an extension agreed in time, closed within it
NOT_PERFORMED = 30  # illustrative: found not performed at the follow-up
ESCALATION = 12  # illustrative: a risk of escalation found and reported in time
PUBLIC = 20      # illustrative: mediated in public with the parties' consent
assert SETTLED + FAILED + WITHDRAWN + ONGOING == ACCEPTED

MEDIATION_DAYS = 30  # the standard's default limit
# Kind of dispute -> (weight, summary, terms, manner of performance, place of performance).
KINDS = {
    "neighbour": (30, "邻里纠纷", "修复并赔偿损失", "自行维修并支付", "双方住所"),
    "family": (18, "婚姻家庭纠纷", "分担赡养费用", "按月转账", "指定银行账户"),
    "property": (12, "物业纠纷", "限期维修公共设施", "物业自行整改", "小区公共区域"),
    "tenancy": (10, "房屋租赁纠纷", "退还押金", "银行转账", "指定银行账户"),
    "labour": (8, "劳动争议纠纷", "支付拖欠工资", "分期转账", "指定银行账户"),
    "consumer": (6, "消费纠纷", "退还货款", "当场退款", "商户门店"),
    "traffic": (5, "道路交通事故纠纷", "赔偿医疗费和修车费", "一次性转账", "指定银行账户"),
    "damage": (5, "损害赔偿纠纷", "赔偿损失", "一次性转账", "指定银行账户"),
    "contract": (4, "合同纠纷", "返工并按期完工", "自行返工", "申请人住所"),
    "medical": (2, "医疗纠纷", "退还部分费用", "银行转账", "指定银行账户"),
}
COMPLEX = {"labour", "traffic", "medical"}  # the standard's default complex_dispute_types
MEDIATORS = [f"M{n:02d}" for n in range(1, 10)]  # a committee of nine
ACTIONS = ["urged", "urged", "re_mediated", "judicial_confirmation_advised", "litigation_advised"]


def day(offset):
    return START + dt.timedelta(days=offset)


def iso(d):
    return d.isoformat()


def mediations(rng):
    span = (END - START).days  # the last offset, 31 October 2019
    kinds = [k for k, v in KINDS.items() for _ in range(v[0])]
    outcomes = ["failed"] * FAILED + ["withdrawn"] * WITHDRAWN + ["success"] * SETTLED
    rng.shuffle(outcomes)
    # Acceptance days over the period; the three still open were accepted in late October 2019,
    # so their limits run past the period's end.
    accepted = sorted(rng.randrange(0, span - 3) for _ in range(ACCEPTED - ONGOING))
    accepted += sorted(rng.sample(range(span - 10, span - 1), ONGOING))
    outcomes += ["ongoing"] * ONGOING
    # Which closed mediations ran late or were extended (only those accepted early enough to close
    # by the period's end either way).
    closable = [i for i in range(ACCEPTED - ONGOING) if accepted[i] <= span - 70]
    special = rng.sample(closable, LATE + EXTENDED)
    late, extended = set(special[:LATE]), set(special[LATE:])
    settled = [i for i, o in enumerate(outcomes) if o == "success"]
    not_performed = set(rng.sample([i for i in settled if accepted[i] <= span - 70], NOT_PERFORMED))
    escalation = set(rng.sample([i for i in closable if i not in late], ESCALATION))
    public = set(rng.sample([i for i in settled if outcomes[i] == "success"], PUBLIC))

    lines = []
    for i, (offset, outcome) in enumerate(zip(accepted, outcomes)):
        kind = rng.choice(kinds)
        weight, summary, terms, manner, place = KINDS[kind]
        acc = day(offset)
        complex_ = kind in COMPLEX or i in escalation
        mediators = sorted(rng.sample(MEDIATORS, 2 if complex_ else rng.choice([1, 1, 2])))
        rec = {
            "id": f"YT-MD-{acc.year}-{i + 1:04d}",
            "accepted_date": iso(acc),
            "dispute_type": kind,
            "parties": [{"role": "applicant"}, {"role": "respondent"}],
            "mediators": mediators,
            "consent": {"all_parties": True, "form": rng.choice(["application", "application", "written"]), "date": iso(acc)},
            "fee_charged": False,
            "held_publicly": False,
            "escalation": {"risk": False},
            "summary": summary,
        }
        if outcome == "ongoing":
            rec["sessions"] = [{"date": iso(acc + dt.timedelta(days=1))}]
            rec["result"] = "ongoing"
            lines.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
            continue
        room = span - offset  # days left to the period's end
        if i in late:
            length = rng.randint(MEDIATION_DAYS + 3, MEDIATION_DAYS + 15)
        elif i in extended:
            new_limit = rng.randint(MEDIATION_DAYS + 10, MEDIATION_DAYS + 30)
            rec["extension"] = {"agreed": True, "date": iso(acc + dt.timedelta(days=rng.randint(20, MEDIATION_DAYS))),
                                "new_deadline": iso(acc + dt.timedelta(days=new_limit))}
            length = rng.randint(MEDIATION_DAYS + 1, new_limit)
        else:
            length = min(rng.choice([1, 2, 3, 5, 7, 8, 10, 12, 14, 15, 18, 21, 25, 28]), room)
        closed = acc + dt.timedelta(days=length)
        sessions = [acc + dt.timedelta(days=min(1, length))]
        if length > 3:
            sessions.append(closed)
        rec["sessions"] = [{"date": iso(s)} for s in sessions]
        if i in escalation:
            found = sessions[0]
            rec["escalation"] = {"risk": True, "identified_at": f"{iso(found)}T10:00:00+08:00",
                                 "reported_at": f"{iso(found)}T{rng.randint(10, 17)}:30:00+08:00",
                                 "reported_to": ["police", "township"], "measures": "通报民警，分别稳控双方情绪"}
        if i in public:
            rec["held_publicly"] = True
            rec["public_consent"] = True
        rec["result"] = outcome
        if outcome == "success":
            written = rng.random() < 0.85 or kind in COMPLEX
            agreement = {"form": "written" if written else "oral", "date": iso(closed), "terms": terms}
            if written:
                deadline = closed + dt.timedelta(days=rng.randint(0, 20))
                agreement.update({"performance_manner": manner, "performance_place": place,
                                  "performance_deadline": iso(deadline), "signed": True})
            follow_up = closed + dt.timedelta(days=rng.randint(5, 28))
            if follow_up <= END:
                agreement["fulfilled"] = i not in not_performed
                if i in not_performed:
                    agreement["non_performance_action"] = rng.choice(ACTIONS)
            rec["agreement"] = agreement
        rec["closed_date"] = iso(closed)
        if outcome == "success" and follow_up <= END:
            rec["follow_up_date"] = iso(follow_up)
        if outcome == "withdrawn":
            # Illustrative: alternately settled between the parties, or ended by a party (then
            # told their other remedies, as for a failure).
            rec["withdrawal_reason"] = "settled_privately" if i % 2 else "party_ended"
        if outcome == "failed" or rec.get("withdrawal_reason") == "party_ended":
            rec["remedies_told"] = True
            rec["remedies"] = ["arbitration", "litigation"] if kind == "labour" else ["litigation"]
        lines.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
    assert len(lines) == ACCEPTED
    return "\n".join(lines) + "\n"


MANIFEST = """\
# The district's people's mediation, January 2016 to October 2019, rebuilt from the figures it
# published: 4,129 disputes accepted, 4,091 resolved, success rate 99.1 % (4,091 / 4,129 =
# 99.08 %). Only those totals are published: the individual records are illustrative (see
# scripts/gen_mediation_district_2016_2019.py). MD-SUCCESS is the published figure; every other
# item scores illustrative fields, so the total grade is not a finding about the district. The years 2016-2019 lie outside the holiday
# calendar (cn-mainland covers 2024-2026); should a working-day count reach them, the report says
# it counted Monday to Friday.
# Generated by scripts/gen_mediation_district_2016_2019.py: do not edit by hand.
#   yardstick report fixtures/mediation/district-2016-2019
organisation: {name: 盐田区人民调解委员会（据公布数据重建）}
contract: {id: YT-MD-2016-2019-PUBLISHED, buyer: 盐田区司法局}
standard: mediation
period: {start: 2016-01-01, end: 2019-10-31}
calendar: cn-mainland
"""


def build():
    rng = random.Random(SEED)
    return {
        "submission.yaml": MANIFEST,
        "mediations.jsonl": mediations(rng),
    }


if __name__ == "__main__":
    sys.exit(fixture_folder.main(sys.argv, OUT, build, __doc__))
