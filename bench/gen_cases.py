#!/usr/bin/env python3
"""Writes N synthetic elderly-care case records for the benchmark (bench/run.sh).

    python3 bench/gen_cases.py N OUTDIR [--format jsonl|yaml|both] [--seed S] [--jobs J]

Every record is a resident's case file of the shipped `elderly-care` guide, about 2.7 KB as one
line of JSON, modelled on fixtures/elderly-care/exemplary: most are in order, about 15 % break one
rule or two (a missing ADL score, a session note written late, a high risk without its prevention
measure, ...) and about 1.5 % of all records also break the case schema (a value outside its
range or its list of codes), so schema validators have something to find. Names, identity
numbers (region code 990000, which no region has, with a valid check character), phone numbers
(1380000xxxx) and addresses are made up.

What it writes (`--format` picks the record folders; the schemas and expected.json always):

    OUTDIR/jsonl/submission.yaml + cases.jsonl       one record a line
    OUTDIR/json/cases.json                           the same records as one JSON array
    OUTDIR/json/parts/cases-NNNN.json                the array in parts of 100,000 records, when
                                                     N is larger (a JavaScript string cannot hold
                                                     a 2.7 GB file: ajv-cli and check-jsonschema
                                                     read these)
    OUTDIR/yaml/submission.yaml + cases/NNN/NNNNNNN.yaml   one file a record, 10,000 a folder
    OUTDIR/case.schema.json                          one case record: the base case schema and
                                                     the elderly-care one, bundled (draft 2020-12)
    OUTDIR/cases-array.schema.json                   {type: array, items: <the case schema>}
    OUTDIR/expected.json                             counts: records, schema-invalid, with a fault

The output is deterministic: records are made in blocks of 10,000, each from its own seed, so the
first 10,000 records of a 100,000-record set are the 10,000-record set. Blocks are made in parallel
(--jobs, all cores by default); a million records in all forms take a few minutes on 2 cores,
most of it Python building the records and the file system creating a million YAML files.
"""

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"
STANDARD = REPO / "standards" / "elderly-care.yaml"
BLOCK = 10_000  # records per seed block and per YAML sub-folder
PART = 100_000  # records per part of the JSON array, when N is larger
SEED = 20251127

PERIOD_START = dt.date(2025, 1, 1)
PERIOD_END = dt.date(2025, 12, 31)
P0 = PERIOD_START.toordinal()
P1 = PERIOD_END.toordinal()

# ISO text of every day the records can name, by ordinal.
_D0 = dt.date(2022, 1, 1).toordinal()
_ISO = [dt.date.fromordinal(o).isoformat() for o in range(_D0, dt.date(2027, 12, 31).toordinal())]


def iso(o):
    return _ISO[o - _D0]


RISKS = ["choking", "wrong_ingestion", "pressure_injury", "scald", "fall_from_bed", "fall",
         "wandering", "harm", "recreation_accident"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程魏苏吕丁任沈姚卢钟姜崔谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛")
GIVEN = list("秀英桂兰玉珍凤华明建国志强德福海军平淑芳美丽春梅金凤永庆文松柏素琴丽娟荣华宝山少云伟民")
CATEGORIES = ["独居", "失能", "半失能", "低保", "特困", "空巢", "高龄", "失智"]
NEEDS = ["情绪支持", "防跌倒", "家庭联系", "适应院舍生活", "社交参与", "认知训练", "康复锻炼",
         "营养改善", "睡眠改善", "兴趣培养", "哀伤疏导", "权益维护"]
GOALS = ["减少孤独感", "半年内无跌倒", "增加社交参与", "改善情绪", "维持认知功能", "恢复自理能力",
         "每月家属探访", "参加兴趣小组", "改善睡眠", "适应集体生活"]
SESSION_NOTES = ["建立关系，了解生活习惯", "情绪疏导，鼓励参加手工小组", "防跌倒训练与情绪疏导",
                 "回顾服务目标与进展", "陪同参加院内活动", "协助与家属视频沟通", "生命回顾，整理老照片",
                 "认知训练，记忆游戏", "讨论饮食与睡眠情况", "协助适应新的房间安排",
                 "了解与同房老人相处情况", "节日家庭团聚安排", "康复锻炼打卡与鼓励"]
REVIEW_OUTCOMES = ["按计划推进", "情绪改善，继续防跌倒措施", "目标基本达成", "情绪稳定，社交增加",
                   "需加强家属联系", "继续维持现有计划", "调整服务频次", "康复进展良好"]
FAMILY_NOTES = ["告知入住适应情况", "春节家属探访", "沟通防跌倒措施", "家庭会议，商定营养支持",
                "视频通话", "告知老人近况", "商量节日探访安排", "沟通照护等级调整"]
SUPERVISORS = ["李督导", "王督导", "陈督导", "张督导", "刘督导"]
SETTLING_NOTES = ["已熟悉作息，与同房老人相处融洽", "初期想家，经陪伴后逐步适应", "参加院内活动，情绪平稳",
                  "仍有不适应，计划增加探访"]
SUMMARIES = ["服务目标基本达成，情绪稳定", "家属接回居家照顾，已转介社区服务", "合同期满，服务告一段落",
             "老人安详离世，家属已获哀伤支持", "服务对象主动退出，尊重其意愿"]
INCIDENT_NOTES = {"fall": "夜间如厕时跌倒，轻微擦伤，已就医处理", "fall_from_bed": "翻身时坠床，未见明显外伤",
                  "choking": "进食时噎食，经海姆立克法处置后无碍", "scald": "饮水时轻度烫伤，已冲洗处理",
                  "pressure_injury": "骶尾部出现一期压疮，已调整翻身频次", "wandering": "独自走出院门，半小时后找回",
                  "other": "夜间呼叫铃故障，已即时处置"}
CONDITION_NOTES = ["食欲下降，体重一月减轻两公斤", "夜间睡眠明显变差", "近期记忆力下降明显", "行走需要助行器"]
COMPLAINT_NOTES = ["家属反映探访预约不便，已调整预约方式", "反映饭菜偏咸，已与厨房沟通"]
CRISIS_NOTES = ["预警信号：拒食、言语消极；联系值班社工与护士长；移除危险物品"]
EOL_NOTES = ["尊重老人意愿，安排家属陪伴，舒缓照护"]
BEREAVEMENT_NOTES = ["电话慰问家属，提供哀伤辅导资料"]

# The faults a faulty record gets one or two of, each breaking one rule the record is judged on.
FAULTS = ["no_adl", "bad_id", "late_note", "number_in_note", "no_prevention", "care_level",
          "no_family_contact", "late_incident_report", "no_reassessment", "no_consent",
          "no_settling_in", "no_agreement"]
# The schema violations (on top of a fault): a record with one is invalid for every validator.
SCHEMA_FAULTS = ["satisfaction_6", "adl_over_100", "session_mode", "negative_minutes", "care_level_code"]


class Rng(random.Random):
    """random.Random with quicker integer and choice draws (the generator makes ~60 a record)."""

    def ri(self, a, b):
        return a + int(self.random() * (b - a + 1))

    def ch(self, seq):
        return seq[int(self.random() * len(seq))]


def id_number(rng, birth_year):
    """A synthetic 18-character identity number: region 990000 (no such region), a birth date
    in the birth year, a sequence number and the GB 11643-1999 check character."""
    body = "990000%04d%02d%02d%03d" % (birth_year, rng.ri(1, 12), rng.ri(1, 28), rng.ri(0, 999))
    s = sum(int(c) * w for c, w in zip(body, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)))
    return body + "10X98765432"[s % 11]


def steps(rng, start, end, lo, hi):
    """Dates after start, each lo..hi days after the one before, up to end: a recurring duty kept."""
    out = []
    t = start
    while True:
        t += rng.ri(lo, hi)
        if t > end:
            return out
        out.append(t)


def make(rng, n):
    """Record number n (1-based) and its faults: (record, faults, schema_faults)."""
    r = rng.random
    ri = rng.ri
    ch = rng.ch
    # Admission: from late 2023 into November 2025; about 40 % of the files close in 2025.
    intake = ri(P0 - 400, P1 - 40)
    closed = r() < 0.4 and intake <= P1 - 80
    if closed:
        closure = ri(max(P0 + 30, intake + 45), P1 - 35)
        reason = ch(["goals_met", "goals_met", "goals_met", "referred", "withdrew", "moved_away",
                     "contract_ended", "deceased"])
    end = closure if closed else P1

    birth = ri(1925, 1958)
    items = {}
    for k in RISKS:
        x = r()
        items[k] = "none" if x < 0.35 else "low" if x < 0.75 else "medium" if x < 0.93 else "high"
    high = [k for k in RISKS if items[k] == "high"]
    adl = ri(0, 20) * 5
    care = ("special" if adl <= 20 else "high") if adl <= 40 else ("assisted" if adl <= 70 else "self_care")
    family = "has_family" if r() < 0.85 else ch(["no_family", "declined"])
    risk_level = "high" if high else ch(["low", "medium", "medium"])
    ra_date = intake - ri(0, 3)
    asm_date = intake + ri(1, 3)
    plan_date = asm_date + ri(3, 9)
    worker = "s-%03d" % (n % 400 + 1)

    rec = {
        "kind": "case",
        "id": "c-%07d" % n,
        "worker": {"id": worker, "qualification": ch(["assistant", "intermediate", "intermediate", "senior"])},
        "client": {
            "id": "R-%07d" % n,
            "name": ch(SURNAMES) + ch(GIVEN) + (ch(GIVEN) if r() < 0.8 else ""),
            "id_number": id_number(rng, birth),
            "phone": "1380000%04d" % (n % 10000),
            "address": "示例市示例区第%d街道%d号" % (ri(1, 30), ri(1, 300)),
            "gender": ch(["male", "female", "female"]),
            "birth_year": birth,
            "categories": rng.sample(CATEGORIES, ri(0, 3)),
        },
        "intake": {"date": iso(intake), "source": ch(["self", "family", "family", "referral", "outreach"]),
                   "consent": True, "confidentiality_explained": True},
        "risk_assessment": {"date": iso(ra_date), "assessor": worker, "items": items},
        "adl_score": adl,
        "care_level": care,
        "agreement": {"signed": True, "date": iso(intake)},
        "family_status": family,
        "settling_in": {"date": iso(intake + ri(10, 28)), "adapted": r() < 0.85, "note": ch(SETTLING_NOTES)},
        "assessment": {"date": iso(asm_date), "needs": rng.sample(NEEDS, ri(1, 3)), "risk_level": risk_level},
        "plan": {"date": iso(plan_date), "goals": rng.sample(GOALS, ri(1, 3)), "agreed": True},
    }
    if high:
        rec["plan"]["prevention"] = list(high)

    # Sessions every few weeks, each note written the same day or the next.
    days = steps(rng, plan_date, end - 1, 20, 60)
    if len(days) < 3:  # a case closed soon after admission still had its sessions
        days = [plan_date + (end - 1 - plan_date) * k // 4 for k in (1, 2, 3)]
    elif len(days) > 7:  # the first session and the latest ones
        days = days[:1] + days[-6:]
    sessions = []
    for d in days:
        sessions.append({"date": iso(d), "minutes": ri(3, 12) * 5, "mode": ch(["face_to_face", "face_to_face", "face_to_face", "phone", "group"]),
                         "note": ch(SESSION_NOTES), "recorded": iso(d + ri(0, 1))})
    rec["sessions"] = sessions
    rec["reviews"] = [{"date": iso(d), "outcome": ch(REVIEW_OUTCOMES)} for d in steps(rng, intake, end, 70, 88)]
    surveys = steps(rng, intake, end, 120, 170)
    if surveys:
        rec["satisfaction_surveys"] = [{"date": iso(d), "satisfaction": ch([4, 5, 5, 5, 3]), "respondent": ch(["client", "client", "family"])} for d in surveys]
    reassess = [{"date": iso(d), "reason": "scheduled"} for d in steps(rng, ra_date, end, 120, 170)]
    if family == "has_family":
        rec["family_contacts"] = [{"date": iso(d), "mode": ch(["visit", "phone", "video", "family_meeting"]), "note": ch(FAMILY_NOTES)}
                                  for d in steps(rng, intake, end, 55, 88)]
    sup = [{"date": iso(intake + ri(5, 20)), "supervisor": ch(SUPERVISORS)}]
    if risk_level == "high" or r() < 0.3:
        sup.append({"date": iso(ri(max(P0, intake), end)), "supervisor": ch(SUPERVISORS)})
    sup.sort(key=lambda e: e["date"])
    rec["supervision"] = sup

    # Incidents (some in the period), each reported within the hour and followed by a re-assessment.
    incidents = []
    x = r()
    if x < 0.12:
        kind = "fall" if x < 0.05 else "pressure_injury" if x < 0.057 else ch(["other", "other", "scald", "choking", "wandering", "fall_from_bed"])
        at = ri(max(P0, intake + 10), end - 8)
        h, m = ri(6, 22), ri(0, 59)
        incidents.append({"type": kind, "occurred_at": "%sT%02d:%02d:00+08:00" % (iso(at), h, m),
                          "reported_at": "%sT%02d:%02d:00+08:00" % (iso(at), h + 1, m),
                          "description": INCIDENT_NOTES[kind]})
        if kind != "other":
            reassess.append({"date": iso(at + ri(0, 5)), "reason": "incident"})
    if r() < 0.05:
        at = ri(max(P0, intake + 10), end - 8)
        rec["condition_changes"] = [{"date": iso(at), "description": ch(CONDITION_NOTES)}]
        reassess.append({"date": iso(at + ri(1, 6)), "reason": "condition_change"})
    if incidents:
        rec["incidents"] = incidents
    if reassess:
        reassess.sort(key=lambda e: e["date"])
        rec["reassessments"] = reassess
    if items["harm"] == "high":
        rec["crisis_plan"] = {"date": iso(ra_date + ri(0, 6)), "note": CRISIS_NOTES[0]}
    if r() < 0.03:
        c = ri(max(P0, intake + 5), end - 10)
        rec["complaints"] = [{"date": iso(c), "responded": iso(c + ri(0, 2)), "resolved": True, "note": ch(COMPLAINT_NOTES)}]

    if closed:
        cl = {"date": iso(closure), "reason": reason}
        if reason == "deceased":
            cl["outcome"] = "not_achieved"
            rec["end_of_life"] = {"date": iso(closure - ri(5, 30)), "note": EOL_NOTES[0]}
            if family == "has_family":
                rec["bereavement"] = {"date": iso(closure + ri(3, 20)), "note": BEREAVEMENT_NOTES[0]}
        elif reason in ("referred", "moved_away"):
            cl["outcome"] = "referred"
        else:
            cl["outcome"] = "achieved" if r() < 0.88 else "partly_achieved"
        if reason in ("goals_met", "referred", "withdrew", "contract_ended"):
            cl["satisfaction"] = ch([5, 5, 5, 4, 4, 3])
            cl["follow_up_date"] = iso(closure + ri(5, 25))
        cl["summary"] = ch(SUMMARIES)
        rec["closure"] = cl

    # Faults: about 15 % of the records, one or two each; about 1.5 % also break the schema.
    faults = []
    schema_faults = []
    if r() < 0.15:
        faults = rng.sample(FAULTS, 1 if r() < 0.7 else 2)
        for f in faults:
            fault(rng, rec, f, intake, end)
        if r() < 0.1:
            schema_faults = [ch(SCHEMA_FAULTS)]
            schema_fault(rec, schema_faults[0])
    return rec, faults, schema_faults


def fault(rng, rec, f, intake, end):
    ri = rng.ri
    if f == "no_adl":
        del rec["adl_score"]
    elif f == "bad_id":
        n = rec["client"]["id_number"]
        rec["client"]["id_number"] = n[:17] + ("0" if n[17] != "0" else "1")
    elif f in ("late_note", "number_in_note"):
        s = {"date": iso(ri(max(P0, intake + 1), end - 25)), "minutes": 40, "mode": "face_to_face",
             "note": "回顾服务进展"}
        d = dt.date.fromisoformat(s["date"]).toordinal()
        s["recorded"] = iso(d + ri(8, 20) if f == "late_note" else d)
        if f == "number_in_note":
            s["note"] = "家属来电更换联系方式，新号码 1380000%04d" % ri(0, 9999)
        rec["sessions"].append(s)
        rec["sessions"].sort(key=lambda e: e["date"])
    elif f == "no_prevention":
        rec["risk_assessment"]["items"]["fall"] = "high"
        rec["plan"]["prevention"] = [k for k in rec["plan"].get("prevention", []) if k != "fall"]
        if not rec["plan"]["prevention"]:
            del rec["plan"]["prevention"]
    elif f == "care_level":
        rec["adl_score"] = 30
        rec["care_level"] = "self_care"
    elif f == "no_family_contact":
        rec["family_status"] = "has_family"
        rec["family_contacts"] = [c for c in rec.get("family_contacts", []) if c["date"] < "2025-01-01"]
        if not rec["family_contacts"]:
            del rec["family_contacts"]
    elif f == "late_incident_report":
        at = ri(max(P0, intake + 10), end - 8)
        rec.setdefault("incidents", []).append({"type": "other", "occurred_at": "%sT21:30:00+08:00" % iso(at),
                                                "reported_at": "%sT09:00:00+08:00" % iso(at + 3),
                                                "description": INCIDENT_NOTES["other"]})
    elif f == "no_reassessment":
        rec.pop("reassessments", None)
        rec.pop("incidents", None)
        rec.pop("condition_changes", None)
    elif f == "no_consent":
        rec["intake"]["consent"] = False
    elif f == "no_settling_in":
        rec.pop("settling_in", None)
    elif f == "no_agreement":
        rec["agreement"] = {"signed": False}


def schema_fault(rec, f):
    if f == "satisfaction_6":
        rec.setdefault("satisfaction_surveys", []).append({"date": rec["sessions"][-1]["date"], "satisfaction": 6, "respondent": "client"})
    elif f == "adl_over_100":
        rec["adl_score"] = 105
    elif f == "session_mode":
        rec["sessions"][0]["mode"] = "visit"  # a family-contact code, not a session one
    elif f == "negative_minutes":
        rec["sessions"][-1]["minutes"] = -30
    elif f == "care_level_code":
        rec["care_level"] = "full_care"


# --- YAML: block style like the fixtures; a string is quoted when a YAML reader could take it for
# something else (a number, a date, a boolean, null) or it holds an indicator character.
_PLAIN = re.compile(r"^[^\s\-?:,\[\]{}#&*!|>'\"%@`0-9.+][^:#,\[\]{}]*$")
_SPECIAL = re.compile(r"^(?:y|n|yes|no|on|off|true|false|null|~)$", re.I)
_quoted = {}
BLOCK_KEYS = {"client", "risk_assessment", "items", "closure"}  # mappings written a key a line


_NESTED = (dict, list)


def scalar(v):
    """A scalar as YAML; strings and numbers are remembered (0 and 1 are not: True and False
    would find them, as True == 1)."""
    t = type(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return "null"
    if t is str:
        plain = _PLAIN.match(v) and not _SPECIAL.match(v) and not v.endswith(" ")
        q = v if plain else json.dumps(v, ensure_ascii=False)
    else:
        q = str(v)
        if v in (0, 1):
            return q
    if len(_quoted) > 100_000:
        _quoted.clear()
    _quoted[v] = q
    return q


def flow(v):
    """A mapping or a list on one line."""
    if type(v) is dict:
        return "{" + ", ".join([k + ": " + (flow(x) if type(x) in _NESTED else (_quoted.get(x) or scalar(x)))
                                for k, x in v.items()]) + "}"
    return "[" + ", ".join([flow(x) if type(x) in _NESTED else (_quoted.get(x) or scalar(x)) for x in v]) + "]"


def yaml_block(rec, out, indent=""):
    for k, v in rec.items():
        t = type(v)
        if t is dict:
            if k in BLOCK_KEYS or any(type(x) is dict for x in v.values()):
                out.append(f"{indent}{k}:\n")
                yaml_block(v, out, indent + "  ")
            else:
                out.append(f"{indent}{k}: {flow(v)}\n")
        elif t is list and v and type(v[0]) is dict:
            out.append(f"{indent}{k}:\n")
            item = indent + "  - "
            out.extend([item + flow(x) + "\n" for x in v])
        elif t is list:
            out.append(f"{indent}{k}: {flow(v)}\n")
        else:
            out.append(f"{indent}{k}: {_quoted.get(v) or scalar(v)}\n")


def manifest(n, fmt):
    return (
        "# Synthetic submission for the benchmark (bench/gen_cases.py): %d elderly-care case records,\n"
        "# %s. Generated, not real: names, numbers and addresses are made up.\n"
        "organisation: {name: 示例养老社工服务中心（基准测试）}\n"
        "contract: {id: BENCH-2025-001, buyer: 示例区民政局, title: 养老院社会工作服务项目（基准测试数据）}\n"
        "standard: elderly-care\n"
        "period: {start: %s, end: %s}\n"
        "calendar: cn-mainland\n" % (n, fmt, PERIOD_START.isoformat(), PERIOD_END.isoformat())
    )


# --- The case schema, bundled into one self-contained document.
def _load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _inline(node, base, seen):
    """The schema with every `$ref` to another file replaced by what it points at (the shipped
    schemas have none today; a ref inside the same document is left as it is)."""
    if isinstance(node, list):
        return [_inline(x, base, seen) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "$schema":
            continue
        out[k] = _inline(v, base, seen)
    ref = out.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        file, _, pointer = ref.partition("#")
        target = (base / file).resolve()
        if (target, pointer) in seen:
            raise SystemExit(f"gen_cases: circular $ref {ref}")
        doc = _load(target)
        for part in [p for p in pointer.split("/") if p]:
            doc = doc[part.replace("~1", "/").replace("~0", "~")]
        resolved = _inline(doc, target.parent, seen | {(target, pointer)})
        del out["$ref"]
        out = {"allOf": [resolved], **out} if out else resolved
    return out


def case_schema():
    m = re.search(r"^schemas:\s*\n(?:\s+\w+:.*\n)*?\s+case:\s*(\S+)", STANDARD.read_text(encoding="utf-8"), re.M)
    sector = SCHEMAS / (m.group(1) if m else "records/case.elderly-care.schema.json")
    parts = [SCHEMAS / "records" / "case.schema.json", sector]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/yardstick/bench/case.schema.json",
        "title": "个案（机构养老）",
        "description": "An elderly-care case record as yardstick's elderly-care guide validates it: the base "
                       "case schema and the elderly-care fields, both must hold (bundled by bench/gen_cases.py "
                       "from " + ", ".join(str(p.relative_to(REPO)) for p in parts) + ").",
        "allOf": [_inline(_load(p), p.parent, frozenset()) for p in parts],
    }


def write_schemas(out):
    schema = case_schema()
    (out / "case.schema.json").write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    items = dict(schema)
    del items["$schema"]
    del items["$id"]
    array = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/yardstick/bench/cases-array.schema.json",
        "title": "个案（机构养老）列表",
        "type": "array",
        "items": items,
    }
    (out / "cases-array.schema.json").write_text(json.dumps(array, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_OPEN = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def block(job):
    """Records [first, last) of one seed block: their JSON lines (when asked) and counts; writes
    the block's YAML files itself (when asked), so that workers share the file creation."""
    seed, first, last, jsonl, ydir = job
    rng = Rng(seed * 1_000_003 + first // BLOCK)
    lines = []
    faulty = invalid = size = 0
    by_fault = {}
    if ydir:
        os.makedirs(ydir, exist_ok=True)
    for i in range(first, last):
        n = i + 1
        rec, faults, schema_faults = make(rng, n)
        if faults:
            faulty += 1
        if schema_faults:
            invalid += 1
        for f in faults + schema_faults:
            by_fault[f] = by_fault.get(f, 0) + 1
        if jsonl:
            line = _ENCODE(rec)
            size += len(line.encode("utf-8")) + 1
            lines.append(line)
        if ydir:
            out = []
            yaml_block(rec, out)
            fd = os.open(os.path.join(ydir, "%07d.yaml" % n), _OPEN, 0o644)
            try:
                os.write(fd, "".join(out).encode("utf-8"))
            finally:
                os.close(fd)
    return lines, faulty, invalid, by_fault, size


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="how many case records")
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--format", choices=["jsonl", "yaml", "both"], default="both",
                    help="jsonl: jsonl/ and json/; yaml: yaml/; both (default): all three")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: all cores)")
    a = ap.parse_args()
    if a.n < 1:
        ap.error("N must be at least 1")
    out = a.outdir
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    write_schemas(out)

    jsonl = a.format in ("jsonl", "both")
    yml = a.format in ("yaml", "both")
    buf = 1 << 20
    fl = fa = fp = None
    if jsonl:
        (out / "jsonl").mkdir(exist_ok=True)
        (out / "json").mkdir(exist_ok=True)
        (out / "jsonl" / "submission.yaml").write_text(manifest(a.n, "one record a line in cases.jsonl"), encoding="utf-8")
        fl = open(out / "jsonl" / "cases.jsonl", "w", encoding="utf-8", buffering=buf)
        fa = open(out / "json" / "cases.json", "w", encoding="utf-8", buffering=buf)
        fa.write("[\n")
        if a.n > PART:
            (out / "json" / "parts").mkdir(exist_ok=True)
    if yml:
        (out / "yaml" / "cases").mkdir(parents=True, exist_ok=True)
        (out / "yaml" / "submission.yaml").write_text(manifest(a.n, "one record a file under cases/"), encoding="utf-8")

    jobs = [(a.seed, f, min(f + BLOCK, a.n), jsonl, str(out / "yaml" / "cases" / ("%03d" % (f // BLOCK))) if yml else None)
            for f in range(0, a.n, BLOCK)]
    faulty = invalid = size = 0
    by_fault = {}
    pool = multiprocessing.Pool(a.jobs) if a.jobs > 1 and len(jobs) > 1 else None
    results = pool.imap(block, jobs) if pool else map(block, jobs)
    done = 0
    for (_, first, last, _, _), (lines, f, inv, bf, sz) in zip(jobs, results):
        faulty += f
        invalid += inv
        size += sz
        for k, c in bf.items():
            by_fault[k] = by_fault.get(k, 0) + c
        if jsonl:
            fl.write("\n".join(lines))
            fl.write("\n")
            fa.write(("" if first == 0 else ",\n") + ",\n".join(lines))
            if a.n > PART:
                if first % PART == 0:
                    if fp:
                        fp.write("\n]\n")
                        fp.close()
                    fp = open(out / "json" / "parts" / ("cases-%04d.json" % (first // PART)), "w", encoding="utf-8", buffering=buf)
                    fp.write("[\n")
                else:
                    fp.write(",\n")
                fp.write(",\n".join(lines))
        done = last
        if done % 100_000 == 0:
            print(f"gen_cases: {done} records, {time.time() - t0:.0f} s", file=sys.stderr)
    if pool:
        pool.close()
        pool.join()
    if jsonl:
        fl.close()
        fa.write("\n]\n")
        fa.close()
        if fp:
            fp.write("\n]\n")
            fp.close()
    expected = {
        "records": a.n,
        "seed": a.seed,
        "with_fault": faulty,
        "schema_invalid": invalid,
        "faults": dict(sorted(by_fault.items())),
        "mean_json_bytes": round(size / a.n) if jsonl else None,
        "period": [PERIOD_START.isoformat(), PERIOD_END.isoformat()],
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    print(f"gen_cases: wrote {a.n} records to {out} in {time.time() - t0:.1f} s "
          f"({faulty} with a fault, {invalid} schema-invalid)", file=sys.stderr)


if __name__ == "__main__":
    main()
