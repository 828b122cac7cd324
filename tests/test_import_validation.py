"""Validation rules of the importer, each with its exact message; every problem is reported
(up to the cap); references resolve across the files of one import and the current data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import build_snapshot, contract
from cs_analytics.config import settings_from_dict
from cs_analytics.errors import ValidationFailed
from cs_analytics.ingest.imports import read_and_validate
from cs_analytics.warehouse.store import Store

SETTINGS = settings_from_dict({})
DATE = "a date like 2026-04-01 (YYYY-MM-DD or YYYY/MM/DD)"
AMOUNT = "an amount in yen of 0 or more, like 120000 or 1,200,000"
WHOLE = "a whole number of 0 or more"

USERS = "user_id,name\nu1,Tanaka\n"
ACCOUNTS = "account_id,name,owner_id\nA1,Acme,u1\nA2,Beta,u1\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def check(tmp_path, files: dict[str, str], settings=SETTINGS, **kwargs):
    paths = [write(tmp_path / name, text) for name, text in files.items()]
    return read_and_validate(settings, Store(tmp_path / "data"), paths, **kwargs)


def messages(v) -> list[str]:
    return [str(p) for p in v.problems]


def typed(v, table: str, column: str) -> list:
    return [r[0] for r in v.con.execute(
        f'SELECT "{column}" FROM "{v.typed[table]}" ORDER BY _file, _row').fetchall()]


# ---------------------------------------------------------------------------- values


def test_contract_value_rules(tmp_path):
    contracts = (
        "contract_id,account_id,start_date,end_date,amount,mrr,type\n"
        "C1,A1,2025-04-01,2025/13/01,1200000,,new\n"          # 2: not a date
        "C2,A1,2025-04-01,2025-02-30,1200000,,new\n"          # 3: no such day
        "C3,A1,2025-04-01,2205-03-31,1200000,,new\n"          # 4: out of range
        "C4,A1,2025-04-01,2026-03-31,-5,,new\n"               # 5: negative
        "C5,A1,2025-04-01,2026-03-31,12abc,,renewal\n"        # 6: not an amount
        "C6,A1,2025-04-01,2025-03-31,1200000,,upsell\n"       # 7: end before start
        "C7,A1,2025-04-01,2026-03-31,,,更新\n"                 # 8: no amount, no mrr
        "C8,,2025-04-01,2026-03-31,1200000,,new\n"            # 9: account_id empty
        "C9,A1,2025-04-01,2026-03-31,1200000,,foo\n"          # 10: unknown type
    )
    with check(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS,
                          "contracts.csv": contracts}) as v:
        assert messages(v) == [
            f'contracts.csv:2:end_date: "2025/13/01" is not a date; expected {DATE}',
            f'contracts.csv:3:end_date: "2025-02-30" is not a date; expected {DATE}',
            'contracts.csv:4:end_date: "2205-03-31" is outside the accepted range; expected a '
            "date between 1900-01-01 and 2099-12-31",
            f'contracts.csv:5:amount: "-5" is negative; expected {AMOUNT}',
            f'contracts.csv:6:amount: "12abc" is not an amount; expected {AMOUNT}',
            'contracts.csv:7:end_date: "2025-03-31" is before start_date "2025-04-01"; expected '
            "an end date on or after the start date",
            "contracts.csv:8:amount: amount and mrr are both empty; expected the contract's total "
            "amount for the term or its monthly mrr",
            "contracts.csv:9:account_id: is empty; expected a value (the account_id is required)",
            'contracts.csv:10:type: "foo" is not a known type; expected one of new, renewal, '
            "upsell (or 新規, 更新, アップセル)",
        ]
        assert v.total_problems == 9
        with pytest.raises(ValidationFailed) as info:
            v.raise_if_failed()
        assert str(info.value) == "9 problems in contracts.csv; nothing was imported"
        assert info.value.problems == v.problems


def test_accepted_amount_spellings(tmp_path):
    amounts = ['"¥1,200,000"', "１２０００００", '"1,200,000円"', '"\\1,200,000"', "1200000.5",
               "￥1200000", " 1200000 "]
    rows = "".join(f"C{i},A1,2025-04-01,2026-03-31,{a}\n" for i, a in enumerate(amounts))
    with check(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS,
                          "contracts.csv": "contract_id,account_id,start_date,end_date,amount\n"
                                           + rows}) as v:
        assert messages(v) == []
        assert typed(v, "contracts", "amount") == [1_200_000] * 4 + [1_200_000.5] + \
            [1_200_000] * 2


def test_count_rules(tmp_path):
    usage = ("account_id,date,deliveries,logins\n"
             'A1,2025-04-01,"1,234",７\n'
             "A1,2025-04-02,12.0, 5 \n"
             "A1,2025-04-03,-1,0\n"
             "A1,2025-04-04,2.5,0\n"
             "A1,2025-04-05,99999999999999999999,0\n"
             "A1,2025-04-06,abc,\n")
    with check(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS, "usage.csv": usage}) as v:
        assert messages(v) == [
            f'usage.csv:4:deliveries: "-1" is negative; expected {WHOLE}',
            f'usage.csv:5:deliveries: "2.5" is not a whole number; expected {WHOLE}',
            f'usage.csv:6:deliveries: "99999999999999999999" is above the limit of '
            f"1,000,000,000 (setting import.max_count); expected {WHOLE}",
            f'usage.csv:7:deliveries: "abc" is not a whole number; expected {WHOLE}',
            f"usage.csv:7:logins: is empty; expected {WHOLE}",
        ]
        assert typed(v, "usage", "deliveries")[:2] == [1234, 12]
        assert typed(v, "usage", "logins")[:2] == [7, 5]


def test_date_spellings(tmp_path):
    dates = ["2025/4/1", "2025-04-01T10:00:00", "2025-04-01 10:00", "2025-03-31T15:00:00Z",
             "2025-04-01T00:30:00+09:00", "２０２５-０４-０１", "2025/04/01 23:59:59",
             "2025-04-01T12:00:00.123-05:00"]
    rows = "".join(f"X{i},A1,{d},call\n" for i, d in enumerate(dates))
    with check(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS,
                          "acts.csv": "activity_id,account_id,date,type\n" + rows}) as v:
        assert messages(v) == []
        assert typed(v, "activities", "date") == [dt.date(2025, 4, 1)] * 7 + [dt.date(2025, 4, 2)]


def test_bool_and_enum_spellings(tmp_path):
    users = ("user_id,name,role,active,capacity\n"
             "u1,A,メンバー,はい,25\nu2,B,Manager,いいえ,\nu3,C,役員,TRUE,\nu4,D,member,0,\n"
             "u5,E,boss,maybe,-3\n")
    acts = "activity_id,account_id,date,type\nX1,A1,2025-04-01,電話\nX2,A1,2025-04-01,ＭＴＧ\n"
    with check(tmp_path, {"users.csv": users, "accounts.csv": ACCOUNTS, "a.csv": acts}) as v:
        assert messages(v) == [
            'users.csv:6:role: "boss" is not a known role; expected one of member, manager, '
            "executive (or メンバー, マネージャー, 経営, 役員)",
            f'users.csv:6:capacity: "-3" is negative; expected {WHOLE}',
            'users.csv:6:active: "maybe" is not true or false; expected true / 1 / yes / はい '
            "or false / 0 / no / いいえ",
        ]
        assert typed(v, "users", "role")[:4] == ["member", "manager", "executive", "member"]
        assert typed(v, "users", "active")[:4] == [True, False, True, False]
        assert typed(v, "activities", "type") == ["call", "meeting"]


def test_missing_columns_are_one_problem_each_on_row_1(tmp_path):
    with check(tmp_path, {"c.csv": "contract_id,account_id,start_date\nC1,A1,2025-04-01\n"}) as v:
        assert messages(v) == [
            "c.csv:1:end_date: column is missing; expected a column named end_date, 契約終了日, "
            "終了日, End Date or EndDate",
            "c.csv:1:amount: columns amount and mrr are both missing; expected amount (total for "
            "the term, amount / 金額 / 契約金額 / Amount) or mrr (mrr / 月額 / MRR)",
        ]


def test_headers_are_named_as_in_the_file(tmp_path):
    text = "契約ID,取引先ID,契約開始日,契約終了日,月額\nC1,A1,2025-04-01,2025-13-01,100\n"
    with check(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS, "c.csv": text}) as v:
        assert messages(v) == [f'c.csv:2:契約終了日: "2025-13-01" is not a date; expected {DATE}']


# ---------------------------------------------------------------------------- all problems, cap


def test_every_problem_of_every_file_is_reported(tmp_path):
    bad_users = "user_id,name,capacity\n" + "".join(f"u{i},,x{i}\n" for i in range(5))
    bad_accounts = "account_id,name,owner_id\nA1,,zz\n"
    with check(tmp_path, {"users.csv": bad_users, "accounts.csv": bad_accounts}) as v:
        assert v.total_problems == 12
        # files in the order given, then rows; within a row, types before empty values
        assert [(p.file, p.row, p.column) for p in v.problems] == \
            [("users.csv", r, c) for r in range(2, 7) for c in ("capacity", "name")] + \
            [("accounts.csv", 2, "name"), ("accounts.csv", 2, "owner_id")]


def test_cap_on_problems(tmp_path):
    settings = settings_from_dict({"import": {"max_errors": 3}})
    text = "user_id,name\n" + "".join(f"u{i},\n" for i in range(10))
    with check(tmp_path, {"users.csv": text}, settings=settings) as v:
        assert [p.row for p in v.problems] == [2, 3, 4]
        assert v.total_problems == 10
        with pytest.raises(ValidationFailed) as info:
            v.raise_if_failed()
        assert str(info.value) == "… and 7 more; 10 problems in users.csv; nothing was imported"


# ---------------------------------------------------------------------------- keys


def test_duplicate_keys_identical_warn_conflicting_fail(tmp_path):
    first = "user_id,name\nu1,A\nu2,B\nu1,A\n"
    second = "user_id,name\nu2,B\nu3,C\nu3,Other\n"
    with check(tmp_path, {"one.csv": first, "two.csv": second}) as v:
        assert messages(v) == [
            'two.csv:4:user_id: user_id "u3" is also on row 3 with different values; expected '
            "each user_id once"]
        assert [str(w) for w in v.warnings] == [
            'one.csv:4: repeats row 2 exactly (user_id "u1"); loaded once',
            'two.csv:2: repeats one.csv row 3 exactly (user_id "u2"); loaded once']
        assert v.identical_duplicates == {"users": 2}


def test_duplicate_composite_key_of_usage(tmp_path):
    usage = ("account_id,date,deliveries,logins\nA1,2025-04-01,1,1\nA1,2025/4/1,2,1\n"
             "A1,2025-04-02,1,1\n")
    with check(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS, "usage.csv": usage}) as v:
        assert messages(v) == [
            'usage.csv:3:account_id + date: account_id + date "A1 + 2025-04-01" is also on row 2 '
            "with different values; expected each account_id + date once"]


# ---------------------------------------------------------------------------- references


def test_references_across_files_of_one_import(tmp_path):
    contracts = ("contract_id,account_id,start_date,end_date,amount\n"
                 "C1,A2,2025-04-01,2026-03-31,1200000\nC2,A9,2025-04-01,2026-03-31,1200000\n")
    acts = "activity_id,account_id,date,type\nX1,A1,2025-04-01,call\nX2,B1,2025-04-01,call\n"
    accounts = ACCOUNTS + "A3,Gamma,u7\n"
    with check(tmp_path, {"contracts.csv": contracts, "acts.csv": acts, "users.csv": USERS,
                          "accounts.csv": accounts}) as v:
        assert messages(v) == [
            'contracts.csv:3:account_id: "A9" is not a known account_id; expected the account_id '
            "of one of the accounts in this import or in the current data",
            'acts.csv:3:account_id: "B1" is not a known account_id; expected the account_id of '
            "one of the accounts in this import or in the current data",
            'accounts.csv:4:owner_id: "u7" is not a known user_id; expected the user_id of one of '
            "the users in this import or in the current data",
        ]


def test_references_against_the_current_snapshot(tmp_path):
    build_snapshot(tmp_path / "data", users=[{"user_id": "u1", "name": "T"}],
                   accounts=[{"account_id": "A1", "name": "Acme", "owner_id": "u1"}],
                   as_of="2025-06-30")
    contracts = ("contract_id,account_id,start_date,end_date,amount\n"
                 "C1,A1,2025-04-01,2026-03-31,1200000\nC2,A2,2025-04-01,2026-03-31,1200000\n")
    with check(tmp_path, {"contracts.csv": contracts,
                          "accounts.csv": "account_id,name,owner_id\nA3,New,u1\n"}) as v:
        assert [p.row for p in v.problems] == [3]


def test_demo_data_does_not_satisfy_references(tmp_path):
    build_snapshot(tmp_path / "data", accounts=[{"account_id": "A1", "name": "Acme",
                                                 "owner_id": "u1"}],
                   as_of="2025-06-30", is_demo=True)
    contracts = "contract_id,account_id,start_date,end_date,amount\nC1,A1,2025-04-01,2026-03-31,1\n"
    with check(tmp_path, {"contracts.csv": contracts}) as v:
        assert [(p.row, p.column) for p in v.problems] == [(2, "account_id")]


def test_usage_for_unknown_accounts_is_a_warning(tmp_path):
    usage = ("account_id,date,deliveries,logins\n" +
             "".join(f"T{i % 7},2025-04-{i + 1:02d},1,1\n" for i in range(20)) +
             "A1,2025-04-01,1,1\n")
    with check(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS, "usage.csv": usage}) as v:
        assert messages(v) == []
        assert [str(w) for w in v.warnings] == [
            'usage.csv:account_id: 20 rows for 7 account_ids not in accounts ("T0", "T1", "T2", '
            '"T3", "T4", …); they were loaded but count for no known account']


def test_replacing_a_referenced_table_must_not_strand_current_rows(tmp_path):
    build_snapshot(tmp_path / "data", users=[{"user_id": "u1", "name": "T"}],
                   accounts=[{"account_id": "A1", "name": "Acme", "owner_id": "u1"},
                             {"account_id": "A2", "name": "Beta", "owner_id": "u1"}],
                   contracts=[contract("C1", "A1", "2025-04-01", "2026-03-31", amount=12)],
                   as_of="2025-06-30")
    accounts = "account_id,name,owner_id\nA2,Beta,u1\n"
    with check(tmp_path, {"accounts.csv": accounts}, replace=True) as v:
        assert messages(v) == [
            'accounts.csv:account_id: replacing accounts would leave 1 contracts of the current '
            'data pointing to accounts that are no longer there ("A1"); expected those '
            "account_ids in the file, or contracts imported too with replace"]
    with check(tmp_path, {"accounts.csv": accounts}, replace=False) as v:
        assert messages(v) == []


# ---------------------------------------------------------------------------- warnings


def test_contract_covering_no_month_end_is_a_warning(tmp_path):
    contracts = ("contract_id,account_id,start_date,end_date,amount,mrr\n"
                 "C1,A1,2025-04-02,2025-04-20,1000,\n"
                 "C2,A1,2025-04-02,2025-04-20,,500\n"
                 "C3,A1,2025-04-02,2025-04-30,1000,\n")
    with check(tmp_path, {"users.csv": USERS, "accounts.csv": ACCOUNTS,
                          "contracts.csv": contracts}) as v:
        assert messages(v) == []
        assert [str(w) for w in v.warnings] == [
            'contracts.csv:2: contract "C1" (2025-04-02 → 2025-04-20) covers no month-end, so it '
            "has no MRR; give its mrr or a term that includes the last day of a month"]
