#!/usr/bin/env python3
"""Writes fixtures/community/shatoujiao-2019/: one community's 2019 as a submission.

The district published these figures for one community (沙头角, Shatoujiao) in 2019 (see the
domain notes): 18 residents' deliberation meetings resolving 23 issues; 90 residents' requests
collected, all completed (100 %); 42 disputes, 41 mediated successfully. This script turns them
into records the `community` guide can score, so that its report reproduces them as indicator
values:

    CO-IND-08 meetings held           18
    CO-IND-09 issues resolved         23
    CO-IND-02 request completion      90 / 90
    CO-IND-03 mediation success       41 / 42

Only those totals are published. Everything else in the records (dates, topics, times, kinds of
dispute) is illustrative, drawn from a seeded generator so that every run writes the same bytes;
no personal data is written. What the published figures do not cover is left out and shows in
the report as findings: the kinds of record with nothing behind them (cases, staff, activities,
the needs assessment, volunteers, referrals) and the requesters' satisfaction ratings. 2019 is
not in the holiday calendar, so working days are counted Monday to Friday, as the report notes.

Usage:
    python3 scripts/gen_shatoujiao_2019.py           # (re)write the folder
    python3 scripts/gen_shatoujiao_2019.py --check   # exit 1 if the committed files differ

Python 3 standard library only; no clock, no unseeded randomness.
"""

import datetime as dt
import json
import random
import sys
from pathlib import Path

import fixture_folder

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "community" / "shatoujiao-2019"
YEAR = 2019
START, END = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
TZ = "+08:00"


def q(value):
    """A YAML scalar: strings double-quoted (JSON escapes are valid YAML), numbers and booleans bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def flow(mapping):
    return "{" + ", ".join(f"{k}: {q(v)}" for k, v in mapping.items()) + "}"


def add_weekdays(day, n):
    """The n-th Monday-to-Friday day after `day` (2019 is outside the holiday calendar)."""
    while n > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def stamp(day, minutes):
    t = dt.datetime.combine(day, dt.time(0, 0)) + dt.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:00") + TZ


# --------------------------------------------------------------------------------------------
# Deliberation meetings: 18, resolving 23 issues (status, and for a resolved one its result).
# --------------------------------------------------------------------------------------------
MEETINGS = [
    ("2019-01-17", "春节期间中英街周边交通与停车", [
        ("春节游客车辆占用小区出入口", "resolved", "节日期间增派交通协管员并设置临时隔离栏"),
        ("年货市场夜间噪音", "resolved", "与市场管理方约定晚十点前收市")]),
    ("2019-02-21", "台风后小区设施修复", [
        ("倒伏树木未清理", "resolved", "协调园林绿化部门清理并补种"),
        ("小区围墙破损", "referred", "已转交街道城建办立项修复")]),
    ("2019-03-14", "老旧楼栋消防安全", [
        ("楼道堆放杂物", "resolved", "志愿者协助清理并签订楼道公约")]),
    ("2019-03-28", "生活垃圾分类推进", [
        ("分类投放点位置", "resolved", "经居民表决调整为三处集中投放点"),
        ("厨余垃圾桶不足", "resolved", "增设厨余垃圾桶六组")]),
    ("2019-04-18", "长者饭堂运营", [
        ("午餐时段排队拥挤", "resolved", "分两轮供餐并预约取号")]),
    ("2019-05-16", "雨季防汛与环境卫生", [
        ("低洼路段积水", "referred", "已转交街道城建办纳入排水改造"),
        ("下水道淤塞", "resolved", "组织清淤疏通"),
        ("蚊虫滋生", "resolved", "联系爱卫办开展集中消杀")]),
    ("2019-06-13", "出租屋安全管理", [
        ("群租房消防隐患", "resolved", "联合网格员排查并督促整改")]),
    ("2019-06-27", "暑期青少年活动", [
        ("暑期儿童无人看护", "resolved", "开设暑期托管班两期"),
        ("篮球场夜间照明不足", "resolved", "文体部门加装照明并限定开放时间")]),
    ("2019-07-18", "电动自行车充电安全", [
        ("缺少集中充电点", "resolved", "物业建设集中充电棚"),
        ("楼道飞线充电", "resolved", "入户宣传并拆除飞线")]),
    ("2019-08-15", "农贸市场周边环境", [
        ("占道经营影响通行", "resolved", "协调城管划定临时摆卖区")]),
    ("2019-08-29", "防台风准备", [
        ("阳台花盆高空坠物隐患", "resolved", "入户提醒并协助固定")]),
    ("2019-09-19", "国庆期间游客分流", [
        ("游客车辆占用小区车位", "resolved", "节日期间实行居民车辆凭证进出"),
        ("公共厕所不足", "in_progress", "已向街道申请增设临时公厕")]),
    ("2019-10-17", "长者活动室使用", [
        ("开放时间过短", "resolved", "延长开放至晚八点"),
        ("空调故障", "resolved", "维修更换空调")]),
    ("2019-10-31", "楼道照明改造", [
        ("楼道声控灯失灵", "resolved", "物业更换为感应灯")]),
    ("2019-11-14", "文明养犬", [
        ("犬只未拴绳", "resolved", "制定文明养犬公约并张贴"),
        ("宠物粪便清理", "declined", "属个人文明行为，已纳入公约宣传，不另设专项")]),
    ("2019-11-28", "社区公园设施", [
        ("健身器材损坏", "resolved", "文体部门维修更换")]),
    ("2019-12-12", "冬季消防安全", [
        ("消防通道被车辆占用", "resolved", "设置禁停标识并定期巡查")]),
    ("2019-12-26", "年度议事回顾与来年议题", [
        ("来年议题征集方式", "in_progress", "拟增设线上征集渠道，下次会议讨论")]),
]


def meetings(rng):
    assert sum(status == "resolved" for _, _, issues in MEETINGS for _, status, _ in issues) == 23
    assert len(MEETINGS) == 18
    docs = []
    for n, (day, topic, issues) in enumerate(MEETINGS, 1):
        date = dt.date.fromisoformat(day)
        residents = rng.randint(6, 16)
        lines = [
            'kind: "meeting"',
            f"id: {q(f'stj-m-{n:02d}')}",
            f"date: {q(day)}",
            'type: "deliberation"',
            f"topic: {q(topic)}",
            f"participants: {residents + rng.randint(3, 8)}",
            f"residents: {residents}",
            "issues:",
        ]
        publish = date + dt.timedelta(days=rng.randint(1, 6))
        settled, still_open = [publish], False
        for i, (title, status, result) in enumerate(issues, 1):
            issue = {"id": str(i), "title": title, "status": status, "result": result}
            if status == "resolved":
                room = (END - date).days
                resolved = date + dt.timedelta(days=rng.randint(min(5, room), min(30, room)))
                issue["resolved_date"] = resolved.isoformat()
                settled.append(resolved)
            elif status in ("in_progress", "pending"):
                still_open = True
            lines.append(f"  - {flow(issue)}")
        minutes = date + dt.timedelta(days=rng.randint(0, 2))
        lines.append(f"minutes: {flow({'date': minutes.isoformat(), 'recorder': '社区工作站', 'summary': '议定事项见各议题办理结果'})}")
        lines.append(f"publication: {flow({'date': publish.isoformat(), 'channel': 'notice_board'})}")
        if not still_open:
            lines.append(f"settled_date: {q(max(settled).isoformat())}")
        docs.append("\n".join(lines))
    head = (
        "# 沙头角社区 2019: the 18 residents' deliberation meetings (居民议事会) behind the published\n"
        "# figure \"18 meetings, 23 issues resolved\". Topics, dates and attendance are illustrative.\n"
        "# Generated by scripts/gen_shatoujiao_2019.py: do not edit by hand.\n"
    )
    return head + "\n---\n".join(docs) + "\n"


# --------------------------------------------------------------------------------------------
# Residents' requests: 90, all completed.
# --------------------------------------------------------------------------------------------
CATEGORIES = ["环境卫生", "市政设施", "停车管理", "噪音扰民", "物业管理", "消防安全", "绿化养护",
              "供水供电", "出租屋管理", "占道经营", "楼道照明", "公共秩序"]
CHANNELS = ["民意通", "民意通", "民意通", "来访", "电话"]


def requests(rng):
    # Spread over the year: 7 or 8 a month, the last received in time to be completed in 2019.
    per_month = [8, 6, 8, 7, 8, 7, 8, 8, 7, 8, 8, 7]
    assert sum(per_month) == 90
    lines = []
    n = 0
    for month, count in enumerate(per_month, 1):
        days = sorted(rng.sample(range(1, 29 if month != 12 else 14), count))
        for day in days:
            n += 1
            received_day = dt.date(YEAR, month, day)
            received = rng.randint(8 * 60, 19 * 60)
            urgent = rng.random() < 0.12
            respond_after = rng.randint(20, 120) if urgent else rng.randint(30, 6 * 60)
            if received + respond_after > 21 * 60:
                # Received late in the day: first contact the next morning, within 24 hours.
                respond_after = 24 * 60 + 9 * 60 + rng.randint(0, 120) - received
            accepted = received + rng.randint(5, 30)
            completed_day = add_weekdays(received_day, 1 if urgent else rng.randint(1, 12))
            # Completed during office hours, and never before the first contact.
            earliest = received + respond_after + 60 - (completed_day - received_day).days * 24 * 60
            completed = max(rng.randint(9 * 60, 18 * 60), earliest)
            record = {
                "kind": "request",
                "id": f"stj-q-{n:03d}",
                "received_at": stamp(received_day, received),
                "channel": rng.choice(CHANNELS),
                "category": rng.choice(CATEGORIES),
                "urgency": "urgent" if urgent else "normal",
                "accepted_at": stamp(received_day, accepted),
                "responded_at": stamp(received_day, received + respond_after),
                "completed_at": stamp(completed_day, completed),
                "status": "completed",
            }
            lines.append(json.dumps(record, ensure_ascii=False))
    assert n == 90
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# People's mediation: 42 disputes, 41 settled.
# --------------------------------------------------------------------------------------------
DISPUTES = {
    "neighbour": ("楼上住户修复渗漏并承担楼下修复费用", "自行维修并当面支付"),
    "family": ("子女按月分担父母赡养费用", "每月五日前转账"),
    "property": ("物业公司限期维修公共设施并减免当月管理费", "物业自行整改"),
    "tenancy": ("房东扣除实际维修费后退还押金", "银行转账"),
    "labour": ("雇主分期支付拖欠工资", "分两期银行转账"),
    "consumer": ("商户退还货款", "当场退款"),
    "traffic": ("肇事方赔偿修车费用", "一次性转账"),
    "other": ("双方按约定分担损失", "自行履行"),
}
WEIGHTS = ["neighbour"] * 12 + ["family"] * 6 + ["property"] * 6 + ["tenancy"] * 6 + \
          ["labour"] * 4 + ["consumer"] * 3 + ["traffic"] * 3 + ["other"] * 2
MEDIATORS = ["调解员甲", "调解员乙", "调解员丙", "调解员丁"]
FAILED = 23  # the one dispute (of 42) that mediation did not settle


def mediations(rng):
    types = WEIGHTS[:]
    rng.shuffle(types)
    accepted_days = sorted(rng.sample(range(0, 333), 42))  # accepted by 30 November
    docs = []
    for n, (offset, kind) in enumerate(zip(accepted_days, types), 1):
        accepted = START + dt.timedelta(days=offset)
        closed = accepted + dt.timedelta(days=rng.randint(2, 25))
        lines = [
            'kind: "mediation"',
            f"id: {q(f'stj-md-{n:02d}')}",
            f"accepted_date: {q(accepted.isoformat())}",
            f"dispute_type: {q(kind)}",
            "parties: [{role: \"applicant\"}, {role: \"respondent\"}]",
            "mediators: [" + ", ".join(q(m) for m in sorted(rng.sample(MEDIATORS, rng.randint(1, 2)))) + "]",
            "voluntary: true",
            "fee_charged: false",
        ]
        if n == FAILED:
            lines += ['result: "failed"', f"closed_date: {q(closed.isoformat())}", "failure_guidance: true"]
        else:
            terms, manner = DISPUTES[kind]
            agreement = {"form": "written" if rng.random() < 0.8 else "oral", "date": closed.isoformat()}
            if agreement["form"] == "written":
                agreement["terms"] = terms
                agreement["performance_manner"] = manner
                agreement["performance_deadline"] = (closed + dt.timedelta(days=rng.randint(7, 30))).isoformat()
            follow_up = closed + dt.timedelta(days=rng.randint(7, 28))
            if follow_up <= END:
                agreement["fulfilled"] = True
            lines += ['result: "success"', f"agreement: {flow(agreement)}", f"closed_date: {q(closed.isoformat())}"]
            if follow_up <= END:
                lines.append(f"follow_up_date: {q(follow_up.isoformat())}")
        docs.append("\n".join(lines))
    head = (
        "# 沙头角社区 2019: the 42 disputes brought to people's mediation, 41 settled (the published\n"
        "# figures). Kinds, dates and agreements are illustrative; no party is named.\n"
        "# Generated by scripts/gen_shatoujiao_2019.py: do not edit by hand.\n"
    )
    return head + "\n---\n".join(docs) + "\n"


MANIFEST = """\
# 沙头角社区 (Shatoujiao community, Yantian district) in 2019, rebuilt from the figures the district
# published: 18 deliberation meetings resolving 23 issues; 90 residents' requests, all completed;
# 42 disputes, 41 mediated successfully. Only those totals are published: the individual records
# are illustrative, and the kinds of record the figures say nothing about (cases, staff,
# activities, the needs assessment, volunteers, referrals) are absent, so the report shows them
# as missing evidence rather than inventing them. 2019 is outside the holiday calendar: working
# days are counted Monday to Friday, as the report notes.
# Generated by scripts/gen_shatoujiao_2019.py: do not edit by hand.
#   yardstick report fixtures/community/shatoujiao-2019
organisation: {name: 沙头角社区（据公布数据重建）}
contract: {id: STJ-2019-PUBLISHED, buyer: 盐田区沙头角街道办事处}
standard: community
period: {start: 2019-01-01, end: 2019-12-31}
calendar: cn-mainland
"""


def build():
    rng = random.Random(2019)
    return {
        "submission.yaml": MANIFEST,
        "meetings.yaml": meetings(rng),
        "requests.jsonl": requests(rng),
        "mediations.yaml": mediations(rng),
    }


if __name__ == "__main__":
    sys.exit(fixture_folder.main(sys.argv, OUT, build, __doc__))
