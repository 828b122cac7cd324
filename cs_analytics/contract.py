"""The canonical tables of SPEC §3: columns, types, keys, header aliases and value rules.

Every source (files, Metabase, Salesforce, demo) produces these tables and nothing else; the SQL
models read only them. `docs/data-contract.md` documents the same content for users.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | date | amount | count | bool | int | enum
    required: bool = False
    choices: tuple[str, ...] = ()

    @property
    def sql_type(self) -> str:
        return {"text": "VARCHAR", "enum": "VARCHAR", "date": "DATE", "amount": "DOUBLE",
                "count": "BIGINT", "int": "BIGINT", "bool": "BOOLEAN"}[self.kind]

    @property
    def expected(self) -> str:
        """What a valid value looks like, as said in error messages."""
        return {
            "text": "text",
            "date": "a date like 2026-04-01 (YYYY-MM-DD or YYYY/MM/DD)",
            "amount": "an amount in yen of 0 or more, like 120000 or 1,200,000",
            "count": "a whole number of 0 or more",
            "int": "a whole number of 0 or more",
            "bool": "true or false",
            "enum": "one of " + ", ".join(self.choices),
        }[self.kind]


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def create_sql(self, table_name: str | None = None) -> str:
        cols = ", ".join(f'"{c.name}" {c.sql_type}' for c in self.columns)
        return f'CREATE TABLE "{table_name or self.name}" ({cols})'


ROLES = ("member", "manager", "executive")
PHASES = ("onboarding", "adoption", "mature")
CONTRACT_TYPES = ("new", "renewal", "upsell")
ACTIVITY_TYPES = ("meeting", "email", "call", "other")

TABLES: dict[str, Table] = {
    "users": Table("users", ("user_id",), (
        Column("user_id", "text", required=True),
        Column("name", "text", required=True),
        Column("email", "text"),
        Column("role", "enum", choices=ROLES),
        Column("manager_id", "text"),
        Column("capacity", "int"),
        Column("active", "bool"),
    )),
    "accounts": Table("accounts", ("account_id",), (
        Column("account_id", "text", required=True),
        Column("name", "text", required=True),
        Column("owner_id", "text", required=True),
        Column("industry", "text"),
        Column("phase", "enum", choices=PHASES),
        Column("created_date", "date"),
        Column("churn_reason", "text"),
        Column("parent_id", "text"),
        Column("sf_url", "text"),
    )),
    "contracts": Table("contracts", ("contract_id",), (
        Column("contract_id", "text", required=True),
        Column("account_id", "text", required=True),
        Column("start_date", "date", required=True),
        Column("end_date", "date", required=True),
        Column("amount", "amount"),
        Column("mrr", "amount"),
        Column("status", "text"),
        Column("type", "enum", choices=CONTRACT_TYPES),
        Column("churn_reason", "text"),
        Column("auto_renew", "bool"),
        Column("notice_days", "int"),
        Column("notice_date", "date"),
    )),
    "activities": Table("activities", ("activity_id",), (
        Column("activity_id", "text", required=True),
        Column("account_id", "text", required=True),
        Column("date", "date", required=True),
        Column("type", "enum", required=True, choices=ACTIVITY_TYPES),
        Column("owner_id", "text"),
        Column("subject", "text"),
    )),
    "usage": Table("usage", ("account_id", "date"), (
        Column("account_id", "text", required=True),
        Column("date", "date", required=True),
        Column("deliveries", "count", required=True),
        Column("logins", "count", required=True),
        Column("viewers", "count"),
        Column("registrants", "count"),
        Column("conversions", "count"),
        Column("active_users", "count"),
    )),
}

# Build order: a table's references point only to tables before it.
TABLE_ORDER = ("users", "accounts", "contracts", "activities", "usage")

# (table, column) → (referenced table, referenced column). Usage for unknown accounts is a
# warning (Metabase exports can include trial accounts), not an error.
REFERENCES = {
    ("accounts", "owner_id"): ("users", "user_id"),
    ("contracts", "account_id"): ("accounts", "account_id"),
    ("activities", "account_id"): ("accounts", "account_id"),
}
WARN_REFERENCES = {("usage", "account_id"): ("accounts", "account_id")}

# Header aliases, matched after normalisation (NFKC, case and spaces/underscores folded).
# The same alias may serve several tables (取引先名 is the account name; 名前 the user name).
ALIASES: dict[str, str] = {
    # accounts / shared ids
    "取引先ID": "account_id", "顧客ID": "account_id", "アカウントID": "account_id",
    "Account ID": "account_id", "AccountId": "account_id",
    "取引先名": "name", "顧客名": "name", "会社名": "name", "氏名": "name", "名前": "name",
    "ユーザー名": "name", "Account Name": "name", "Name": "name",
    "業種": "industry", "Industry": "industry",
    "担当者ID": "owner_id", "所有者ID": "owner_id", "取引先所有者ID": "owner_id",
    "Owner ID": "owner_id", "OwnerId": "owner_id",
    "フェーズ": "phase", "利用フェーズ": "phase",
    "作成日": "created_date", "Created Date": "created_date", "CreatedDate": "created_date",
    "解約理由": "churn_reason", "Churn Reason": "churn_reason",
    "親取引先ID": "parent_id", "SalesforceURL": "sf_url",
    # users
    "ユーザーID": "user_id", "User ID": "user_id", "メール": "email", "メールアドレス": "email",
    "Email": "email", "役割": "role", "ロール": "role", "上長ID": "manager_id",
    "マネージャーID": "manager_id", "担当上限": "capacity", "担当可能数": "capacity",
    "有効": "active", "IsActive": "active",
    # contracts
    "契約ID": "contract_id", "Contract ID": "contract_id",
    "契約開始日": "start_date", "開始日": "start_date", "Start Date": "start_date",
    "StartDate": "start_date",
    "契約終了日": "end_date", "終了日": "end_date", "End Date": "end_date", "EndDate": "end_date",
    "金額": "amount", "契約金額": "amount", "Amount": "amount",
    "月額": "mrr", "MRR": "mrr", "ステータス": "status", "状態": "status", "Status": "status",
    "契約種別": "type",
    "自動更新": "auto_renew", "自動更新有無": "auto_renew", "Auto Renew": "auto_renew",
    "解約予告日数": "notice_days", "Notice Days": "notice_days",
    "解約通知日": "notice_date", "解約申出日": "notice_date", "解約予告受領日": "notice_date",
    "Notice Date": "notice_date",
    # activities
    "活動ID": "activity_id", "Activity ID": "activity_id",
    "日付": "date", "活動日": "date", "Date": "date", "ActivityDate": "date",
    "種別": "type", "Type": "type", "件名": "subject", "Subject": "subject",
    # usage
    "配信数": "deliveries", "Deliveries": "deliveries",
    "ログイン数": "logins", "Logins": "logins",
    "視聴者数": "viewers", "Viewers": "viewers",
    "申込者数": "registrants", "Registrants": "registrants",
    "コンバージョン数": "conversions", "Conversions": "conversions",
    "アクティブユーザー数": "active_users", "Active Users": "active_users",
}

# Japanese spellings of enum values users type in spreadsheets.
VALUE_ALIASES: dict[str, dict[str, str]] = {
    "type": {"商談": "meeting", "MTG": "meeting", "ミーティング": "meeting", "打ち合わせ": "meeting",
             "メール": "email", "電話": "call", "その他": "other",
             "新規": "new", "更新": "renewal", "アップセル": "upsell"},
    "role": {"メンバー": "member", "マネージャー": "manager", "経営": "executive",
             "役員": "executive"},
    "phase": {"オンボーディング": "onboarding", "活用": "adoption", "定着": "mature"},
}


def normalise_header(header: str) -> str:
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    for ch in (" ", "_", "-", "　"):
        text = text.replace(ch, "")
    return text


_NORMALISED_ALIASES = {normalise_header(k): v for k, v in ALIASES.items()}
_NORMALISED_COLUMNS = {normalise_header(c.name): c.name
                       for t in TABLES.values() for c in t.columns}


def canonical_column(header: str, table: str | None = None,
                     mapping: dict[str, dict[str, str]] | None = None) -> str | None:
    """Map a source header to a canonical column name, or None when it is not recognised.

    Order: the configured mapping for the table, the canonical name itself, the aliases.
    """
    if mapping and table in mapping:
        for source, target in mapping[table].items():
            if normalise_header(source) == normalise_header(header):
                return target
    key = normalise_header(header)
    return _NORMALISED_COLUMNS.get(key) or _NORMALISED_ALIASES.get(key)
