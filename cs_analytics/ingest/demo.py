"""Demo data: a generated, deterministic dataset shaped like the company of SPEC §1.

A Japanese webinar-platform SaaS with fictional customers and a fictional CS team. The output is
the five canonical tables (contract.TABLES) as pandas frames, identical for the same
(accounts, years, seed, end). Everything is drawn with numpy in whole arrays (no Python loop per
day or per usage row), so `generate(accounts=10_000, years=3)` runs in seconds and gives the
benchmark's large profile: ~8.9M usage rows, ~39k contracts, ~480k activities.

What the data contains:

- window: usage and activities cover the `years` years ending at `end` (the as-of of the demo
  snapshot). Customers already under contract when the window opens (about 65% of accounts)
  keep the contract that was running then, which may start up to 24 months earlier; their
  older history is not generated. The other accounts arrive over the whole window.
- users: U001 the CS manager, U002 the executive, then one member per ~25 accounts (at least
  5) with capacities 20–30. Accounts active at `end` are spread over members' capacity (a few
  enterprise accounts go to the manager); capacity is exceeded only when there is not enough.
- contracts: 12-month terms mostly, some 6- or 24-month; ~30% start mid-month. Only `amount`
  (total for the term) is given, as Salesforce does; MRR = amount / month-ends covered, between
  ¥30,000 and ¥800,000 (about 3% enterprise up to ¥2.5M). Renewals start the day after the
  previous end, some 2–28 days late (inside the 31-day grace); a few customers come back after
  a gap of 40–240 days (a reactivation, type `new`). Upsells are an extra overlapping contract
  ending with the current term, usually folded into the next renewal; renewals also upgrade
  and downgrade. Spot contracts (type `upsell` too) add viewer capacity for a large event for
  one to three calendar months inside a term (~0.4 a customer-year, more for large plans),
  with more viewers per delivery in those months and a planning meeting before. About 20%
  of customers stop paying within two years; 74% of churn reasons are 施策終了・中止. A
  churned account's last contract and the account carry the reason. Some renewals ending
  within 60 days after `end` are already signed (a contract starting later).
- usage: the Metabase export as a calendar × tenant spine, **zero days kept**: one row per
  account per day from its first customer day in the window to `end`. A tenant is kept after
  its contracts end, so the days between customer periods and after churn are rows of zeros,
  and "no login for 60 days" is visible as rows with logins = 0. Weekly and yearly
  seasonality (Japanese holidays, August, year end), plan-size scaling, onboarding ramp-up,
  usage growth in the 90 days before upsells and upgrades, a dip before downgrades, and a
  decline over the 2–5 months before churn (campaign-ended customers go silent).
- activities: meetings, emails, calls and other notes by the account owner (sometimes the
  manager) on business days, with Japanese subjects; kickoff and onboarding for new customers,
  renewal notices before each term end, QBRs for large accounts; fewer contacts while declining.
- risk signals: among accounts active at `end`, some are forced into each SPEC §4 signal: no
  login for ≥60 days, deliveries down ≥50%, no contact for ≥60 days, and a renewal within 90
  days with nothing following signed (those declining accounts also score 🟠/🔴).

CLI: `python -m cs_analytics demo [--accounts N] [--years Y] [--seed S] [--end DATE]
[--export DIR [--no-build]]` — `--export` writes canonical CSV files and still builds the
snapshot unless `--no-build` is given.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from cs_analytics import contract
from cs_analytics.config import Settings
from cs_analytics.ingest.source import publish_sources
from cs_analytics.warehouse.build import PublishResult, today_tokyo
from cs_analytics.warehouse.store import Store

Progress = Callable[[str], None]
Tables = dict[str, pd.DataFrame]

GRACE_DAYS = 31  # SPEC §4 default: late renewals stay inside it, reactivations outside

INDUSTRIES = ("IT", "製造", "金融", "医療", "保険", "教育", "人材", "不動産", "小売", "官公庁")
INDUSTRY_SHARE = (0.18, 0.15, 0.10, 0.08, 0.06, 0.10, 0.10, 0.07, 0.09, 0.07)
# Typical plan size and churn risk by industry (finance pays more; public sector renews on budget).
INDUSTRY_PLAN = (1.0, 1.0, 1.4, 1.2, 1.3, 0.7, 0.9, 1.0, 0.9, 0.8)
INDUSTRY_RISK = (1.05, 0.95, 0.85, 0.9, 0.9, 1.05, 1.2, 1.0, 1.1, 0.8)
INDUSTRY_CONTACT = (1.0, 1.0, 1.3, 1.3, 1.1, 0.9, 1.0, 0.9, 0.9, 1.0)

CHURN_REASONS = ("施策終了・中止", "予算削減", "他社サービスへ乗り換え", "社内体制の変更", "機能不足")
CHURN_REASON_SHARE = (0.74, 0.10, 0.07, 0.05, 0.04)

# Fictional company names: prefix × (region) × industry word × legal form.
NAME_PREFIXES = (
    "さくら", "青葉", "東邦", "若葉", "瑞穂", "北斗", "光陽", "朝日野", "白鷺", "翠明", "蒼海",
    "紅葉台", "常盤", "富岳", "鳳凰", "碧水", "銀河", "昭栄", "明和台", "協栄", "弥生", "錦",
    "東雲", "暁", "春日野", "桔梗", "菖蒲", "楓", "椿", "柊", "葵", "桜花", "若竹", "清流",
    "山吹", "飛鳥", "高嶺", "浅葱", "藤波", "松風", "緑風", "晴海", "大洋", "新星", "三ツ星",
    "ひかり", "つばさ", "みらい", "あおば", "こだま", "やまびこ", "はやて", "かなで", "ことぶき",
    "エール", "アルファ", "ネクスト", "サンライズ", "ブルーリーフ", "グリーンヒル",
)
NAME_REGIONS = ("", "東日本", "西日本", "中部", "関西", "九州", "北海道", "首都圏")
NAME_REGION_SHARE = (0.72, 0.05, 0.05, 0.04, 0.04, 0.04, 0.03, 0.03)
INDUSTRY_WORDS = {
    "IT": ("システムズ", "テクノロジー", "ソフト", "デジタル", "ネットワークス", "ソリューションズ"),
    "製造": ("工業", "精機", "化学", "製作所", "電機", "マテリアル"),
    "金融": ("証券", "フィナンシャル", "キャピタル", "アセットマネジメント", "リース", "信託"),
    "医療": ("メディカル", "ファーマ", "製薬", "ヘルスケア", "メディカルサービス", "ライフサイエンス"),
    "保険": ("生命保険", "損害保険", "保険サービス", "インシュアランス", "少額短期保険", "共済サービス"),
    "教育": ("ゼミナール", "教育センター", "アカデミー", "ラーニング", "出版", "スクール"),
    "人材": ("キャリア", "スタッフィング", "人材サービス", "エージェント", "ワークス", "HRパートナーズ"),
    "不動産": ("不動産", "地所", "ホーム", "リアルティ", "住宅", "都市開発"),
    "小売": ("商事", "ストア", "リテール", "マート", "物産", "百貨"),
}
CITY_NAMES = ("東雲", "白鷺", "翠明", "蒼海", "常盤台", "若葉台", "桔梗", "春日野", "高嶺", "松風",
              "緑風", "晴海台", "藤波", "飛鳥野", "清流", "山吹", "浅葱", "朝日野", "光陽", "錦ヶ丘",
              "月見台", "水沢野", "雲雀丘", "星見", "鷹ノ巣", "柏葉", "宮ノ森", "潮凪", "霞野", "風早台")
CITY_DEPARTMENTS = ("広報課", "観光振興課", "産業振興課", "子育て支援課", "人事課", "市民協働課",
                    "移住定住推進課", "健康づくり課", "商工労働課", "デジタル推進課", "生涯学習課",
                    "農林振興課", "企画政策課", "防災危機管理課", "国際交流課")

# Fictional CS team: common surnames and given names (none of the customer's real staff).
SURNAMES = (
    ("佐藤", "sato"), ("田中", "tanaka"), ("伊藤", "ito"), ("渡辺", "watanabe"),
    ("中村", "nakamura"), ("加藤", "kato"), ("吉田", "yoshida"), ("山口", "yamaguchi"),
    ("松本", "matsumoto"), ("井上", "inoue"), ("木村", "kimura"), ("清水", "shimizu"),
    ("山崎", "yamazaki"), ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"),
    ("阿部", "abe"), ("石川", "ishikawa"), ("前田", "maeda"), ("藤田", "fujita"),
    ("後藤", "goto"), ("岡田", "okada"), ("長谷川", "hasegawa"), ("村上", "murakami"),
    ("近藤", "kondo"), ("石井", "ishii"), ("斎藤", "saito"), ("坂本", "sakamoto"),
    ("遠藤", "endo"), ("青木", "aoki"), ("藤井", "fujii"), ("西村", "nishimura"),
    ("福田", "fukuda"), ("太田", "ota"), ("三浦", "miura"), ("藤原", "fujiwara"),
    ("岡本", "okamoto"), ("松田", "matsuda"), ("中川", "nakagawa"), ("原田", "harada"),
)
GIVEN_NAMES = (
    ("美咲", "misaki"), ("陽菜", "hina"), ("結衣", "yui"), ("彩花", "ayaka"), ("真由", "mayu"),
    ("葵", "aoi"), ("智子", "tomoko"), ("由美", "yumi"), ("恵", "megumi"), ("優子", "yuko"),
    ("奈々", "nana"), ("千尋", "chihiro"), ("香織", "kaori"), ("麻衣", "mai"), ("愛", "ai"),
    ("翔太", "shota"), ("健太", "kenta"), ("大輔", "daisuke"), ("拓也", "takuya"),
    ("翼", "tsubasa"), ("蓮", "ren"), ("悠斗", "yuto"), ("直樹", "naoki"), ("和也", "kazuya"),
    ("亮", "ryo"), ("誠", "makoto"), ("隆", "takashi"), ("俊介", "shunsuke"),
    ("慎也", "shinya"), ("航", "wataru"),
)

SUBJECTS = {
    "meeting": ("定例MTG", "活用支援MTG", "配信企画のご相談", "運用レビュー", "新機能のご紹介",
                "活用状況ヒアリング", "次回ウェビナーの打ち合わせ"),
    "email": ("活用支援のご案内", "配信レポートの送付", "新機能リリースのお知らせ",
              "活用事例セミナーのご案内", "アンケート結果の共有", "お問い合わせへの回答",
              "ご請求書送付のご連絡"),
    "call": ("活用状況の確認", "配信トラブルのフォロー", "操作方法のご質問対応", "定期フォローコール",
             "視聴者数改善のご提案"),
    "other": ("社内共有メモ", "ヘルプデスク対応", "ウェビナー当日の立ち会い", "アカウント設定変更",
              "配信テンプレートの作成支援"),
}
ACTIVITY_TYPES = ("meeting", "email", "call", "other")

# Usage shape: weekday factors (Monday first), month-of-year factors, fixed-date days off
# (national holidays that do not move, Obon, the year-end break).
DELIVERY_WEEKDAY = (0.95, 1.15, 1.2, 1.15, 0.9, 0.1, 0.04)
LOGIN_WEEKDAY = (1.0, 1.05, 1.05, 1.05, 0.95, 0.12, 0.05)
MONTH_SEASON = (0.85, 1.05, 1.15, 0.95, 0.9, 1.05, 1.0, 0.8, 1.0, 1.15, 1.15, 0.9)
DAYS_OFF = ((1, 1), (1, 2), (1, 3), (2, 11), (2, 23), (4, 29), (5, 3), (5, 4), (5, 5),
            (8, 11), (8, 13), (8, 14), (8, 15), (8, 16), (11, 3), (11, 23),
            (12, 29), (12, 30), (12, 31))

# Churn per renewal point, annualised: customers leave more at their first renewal.
ANNUAL_CHURN_FIRST = 0.14
ANNUAL_CHURN_LATER = 0.105
REACTIVATION_SHARE = 0.12  # of leaving customers, who come back after a gap
SPOT_RATE = 0.4  # spot contracts (large events) per customer-year, 1.5× for large plans
SPOT_VIEWERS = 1.6  # viewers per delivery during a spot contract

TYPE_NEW, TYPE_RENEWAL, TYPE_UPSELL = 0, 1, 2
# The default 170-account dataset's headline two-year churn lands near the strategy's ~21%
# (the headline cohort is only ~25 customers, so it swings from seed to seed).
DEFAULT_SEED = 5
STYLE_NONE, STYLE_FADING, STYLE_DORMANT, STYLE_SILENT = 0, 1, 2, 3


# ---------------------------------------------------------------------------- public API


def generate(accounts: int = 170, years: int = 3, seed: int = DEFAULT_SEED,
             end: dt.date | None = None) -> Tables:
    """The five canonical tables of a generated company, deterministic for the arguments.

    `end` is the last date of data (default: today in Asia/Tokyo). Columns are exactly
    contract.TABLES' in order; text columns are `str`, dates `datetime64[s]`, amounts float,
    counts int64, users.capacity nullable Int64.
    """
    if accounts < 1:
        raise ValueError("the demo needs at least 1 account")
    if years < 1:
        raise ValueError("the demo needs at least 1 year of data")
    end = end or today_tokyo()
    rng = np.random.default_rng([seed, accounts, years, end.toordinal()])
    window = _Window(end, years)
    acc = _draw_accounts(rng, accounts, window)
    chain = _simulate_contracts(rng, acc, window)
    terms = _renewal_terms(np.random.default_rng([seed, accounts, years, end.toordinal(), 28]),
                           acc, chain, window)
    segs = _segments(rng, chain, window)
    no_contact = _force_signals(rng, acc, segs, window)
    usage = _usage(rng, acc, segs, chain, window)
    team = _team(rng, acc, segs, window)
    activities = _activities(rng, acc, segs, chain, usage, team, no_contact, window)
    return _frames(rng, acc, chain, terms, segs, usage, activities, team, window)


def export_csv(tables: Tables, directory: str | Path) -> dict[str, Path]:
    """Write each canonical table as `<table>.csv` (UTF-8, canonical header) into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    con = duckdb.connect()
    try:
        for name in contract.TABLE_ORDER:
            spec = contract.TABLES[name]
            con.register("frame", tables[name])
            path = directory / f"{name}.csv"
            con.execute(f"COPY (SELECT {_cast_list(spec)} FROM frame) TO ? "
                        "(HEADER, DELIMITER ',')", [str(path)])
            con.unregister("frame")
            paths[name] = path
    finally:
        con.close()
    return paths


def load_into_build(build, tables: Tables) -> dict[str, int]:
    """Replace every canonical table of `build` with the generated frames; rows per table."""
    # Register everything first: a count query left open by an insert blocks register().
    for name in contract.TABLE_ORDER:
        build.con.register(f"demo_{name}", pa.Table.from_pandas(tables[name],
                                                                preserve_index=False))
    rows = {}
    for name in contract.TABLE_ORDER:
        build.progress(f"loading {name} ({len(tables[name]):,} rows)")
        rows[name] = build.replace(name, f'SELECT * FROM "demo_{name}"')
    build.con.execute("SELECT 1").fetchall()  # completes the open result, then release frames
    for name in contract.TABLE_ORDER:
        build.con.unregister(f"demo_{name}")
    return rows


class DemoSource:
    """The demo data as a source: every canonical table replaced by the generated frames."""

    name = "demo"

    def __init__(self, tables: Tables):
        self.tables: Tables | None = tables

    def load_into(self, build) -> dict[str, int]:
        rows = load_into_build(build, self.tables)
        self.tables = None  # the snapshot holds the rows now; free the frames for the models
        return rows

    def published(self, loaded: dict[str, int]) -> None:
        pass


def build_demo(settings: Settings, store: Store, accounts: int = 170, years: int = 3,
               seed: int = DEFAULT_SEED, end: dt.date | None = None,
               progress: Progress | None = None,
               tables: Tables | None = None) -> PublishResult:
    """Generate (unless `tables` is given), build and publish a demo snapshot as of `end`.

    `end` defaults to the configured general.as_of, else today in Tokyo.
    """
    end = end or settings.general.as_of or today_tokyo()
    say = progress or (lambda _m: None)
    if tables is None:
        say(f"generating demo data: {accounts:,} accounts, {years} years to {end}")
        tables = generate(accounts, years, seed, end)
    source = DemoSource(tables)
    tables = None  # only the source holds the frames, so loading them frees them
    published, _rows = publish_sources(settings, store, [source], base="empty", is_demo=True,
                                       as_of=end, progress=progress)
    return published


def active_account_ids(contracts: pd.DataFrame, on: dt.date,
                       grace_days: int = GRACE_DAYS) -> set[str]:
    """Accounts with a contract active on `on`, renewal grace applied (SPEC §4)."""
    codes, accounts = pd.factorize(contracts["account_id"])
    start = _day_numbers(contracts["start_date"])
    end = _day_numbers(contracts["end_date"])
    # The account's next contract after each one: the first start later than its end.
    starts = np.sort(codes * 1_000_000 + start)
    pos = np.searchsorted(starts, codes * 1_000_000 + end, side="right")
    found = pos < len(starts)
    following = starts[np.minimum(pos, len(starts) - 1)]
    next_start = np.where(found & (following // 1_000_000 == codes), following % 1_000_000, -1)
    in_grace = (next_start >= 0) & (next_start - end - 1 <= grace_days)
    until = np.where(in_grace, next_start - 1, end)
    day = _day(on)
    return set(accounts[np.unique(codes[(start <= day) & (until >= day)])])


def _day_numbers(column: pd.Series) -> np.ndarray:
    return column.to_numpy().astype("datetime64[D]").astype(np.int64)


def describe(tables: Tables, end: dt.date) -> str:
    """One paragraph on what was generated (for the CLI)."""
    n_active = len(active_account_ids(tables["contracts"], end))
    return (f"{len(tables['accounts']):,} accounts ({n_active:,} active customers on {end}), "
            f"{len(tables['contracts']):,} contracts, {len(tables['activities']):,} activities, "
            f"{len(tables['usage']):,} usage rows and a team of {len(tables['users']):,} users")


# ---------------------------------------------------------------------------- dates


class _Window:
    """The data window as day numbers (days since 1970-01-01)."""

    def __init__(self, end: dt.date, years: int):
        try:
            first = end.replace(year=end.year - years)
        except ValueError:  # 29 February
            first = end.replace(year=end.year - years, day=28)
        self.start = _day(first + dt.timedelta(days=1))
        self.end = _day(end)
        self.days = np.arange(self.start, self.end + 1, dtype=np.int64)
        self.first_month = int(_month_index(np.array([self.start]))[0])
        self.months = int(_month_index(np.array([self.end]))[0]) - self.first_month + 1


def _day(value: dt.date) -> int:
    return int(np.datetime64(value, "D").astype(np.int64))


def _month_index(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each day number."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_start(months: np.ndarray) -> np.ndarray:
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _add_months(days: np.ndarray, months) -> np.ndarray:
    """Same day of month, `months` later (days of month are at most 28 here)."""
    month = _month_index(days)
    return _month_start(month + np.asarray(months)) + (days - _month_start(month))


def _month_ends_between(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Number of month-ends within [start, end] — the SPEC §4 MRR divisor."""
    first, last = _month_index(start), _month_index(end)
    return last - first + (end == _month_start(last + 1) - 1)


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0


def _business_day(days: np.ndarray) -> np.ndarray:
    """Weekend dates moved back to the Friday before."""
    wd = _weekday(days)
    return days - np.where(wd == 5, 1, 0) - np.where(wd == 6, 2, 0)


def _choose_dom(rng, n: int) -> np.ndarray:
    """Day of month (0-based) of a start date: the 1st mostly, some mid-month starts."""
    return np.where(rng.random(n) < 0.7, 0, rng.integers(1, 28, n))


# ---------------------------------------------------------------------------- accounts


class _Accounts:
    """Per account (index = account number − 1): industry, first term, plan MRR, churn risk
    and usage/contact propensities."""


def _draw_accounts(rng, n: int, w: _Window) -> _Accounts:
    a = _Accounts()
    a.n = n
    industry = rng.choice(len(INDUSTRIES), n, p=INDUSTRY_SHARE)
    is_base = rng.random(n) < 0.65
    first_len = rng.choice([12, 6, 24], n, p=[0.8, 0.1, 0.1])

    # Base customers: the term running when the window opens started up to `len` months before.
    start_month = _month_index(np.array([w.start]))[0]
    base_offset = (rng.random(n) * first_len).astype(np.int64)
    base_start = _month_start(start_month - base_offset) + _choose_dom(rng, n)
    base_start = np.where(base_start > w.start, _add_months(base_start, -1), base_start)
    base_start = np.where(_add_months(base_start, first_len) - 1 < w.start,
                          _add_months(base_start, 1), base_start)
    # Arrivals: spread over the window, slightly more later (the company grows).
    span = max(w.end - 14 - w.start, 1)
    arrival_day = w.start + 1 + (rng.random(n) ** 0.85 * span).astype(np.int64)
    arrival_start = _month_start(_month_index(arrival_day)) + _choose_dom(rng, n)
    arrival_start = np.where(arrival_start > w.end, _add_months(arrival_start, -1), arrival_start)
    arrival_start = np.maximum(arrival_start, w.start + 1)
    first_start = np.where(is_base, base_start, arrival_start)

    # Base customers signed long ago (renewal) or just before the window (new); arrivals'
    # accounts are created in Salesforce while the deal is worked, weeks before the start.
    long_ago = is_base & (rng.random(n) < 0.75)
    tenure = np.where(long_ago, rng.integers(400, 6 * 365, n), rng.integers(14, 120, n))
    created = first_start - tenure
    first_type = np.where(long_ago, TYPE_RENEWAL, TYPE_NEW)

    order = np.lexsort((rng.random(n), created))  # account ids follow creation order
    a.industry = industry[order]
    a.is_base = is_base[order]
    a.first_len = first_len[order]
    a.first_start = first_start[order]
    a.first_type = first_type[order]
    a.created = created[order]

    size = np.exp(rng.normal(np.log(110_000), 0.75, n)) * np.asarray(INDUSTRY_PLAN)[a.industry]
    plan = np.clip(np.round(size / 10_000) * 10_000, 30_000, 800_000)
    enterprise = rng.random(n) < 0.03
    plan = np.where(enterprise, np.round(rng.uniform(1_000_000, 2_500_000, n) / 50_000) * 50_000,
                    plan)
    a.plan = plan
    scale = plan / 150_000
    a.grower = rng.random(n) < 0.25
    a.risk = (np.asarray(INDUSTRY_RISK)[a.industry] * np.where(plan < 60_000, 1.2, 1.0)
              * np.where(plan >= 400_000, 0.7, 1.0) * np.where(a.grower, 0.75, 1.08))
    # Product usage propensities (per account), scaled with the plan.
    a.deliveries_month = np.clip(np.exp(rng.normal(np.log(5.5), 0.6, n)) * scale ** 0.35,
                                 0.6, 200)
    a.logins_day = np.clip(np.exp(rng.normal(np.log(1.8), 0.7, n)) * scale ** 0.3, 0.15, 60)
    a.viewers_per_delivery = np.exp(rng.normal(np.log(70), 0.7, n)) * scale ** 0.5
    a.show_rate = rng.uniform(0.45, 0.75, n)
    a.conversion_rate = np.clip(rng.beta(2.2, 16, n) * 1.2, 0.01, 0.4)
    a.user_share = rng.uniform(0.55, 0.9, n)
    a.contacts_month = (np.exp(rng.normal(np.log(1.6), 0.35, n))
                        * np.asarray(INDUSTRY_CONTACT)[a.industry] * scale.clip(0.3, 8) ** 0.15)
    return a


# ---------------------------------------------------------------------------- contracts


class _Chain:
    """Every contract (main terms and upsells, in account/start order), the leaving events
    (term ends after which the customer leaves) and plan-level changes (upsells, up/downgrades)."""


def _round_plan(values: np.ndarray) -> np.ndarray:
    return np.maximum(np.round(values / 10_000) * 10_000, 30_000)


def _simulate_contracts(rng, a: _Accounts, w: _Window) -> _Chain:
    """Term after term for every account at once (a loop over renewals, not over days)."""
    n = a.n
    cur_start = a.first_start.copy()
    cur_len = a.first_len.copy()
    cur_mrr = a.plan.copy()
    cur_type = a.first_type.copy()
    renewals = np.zeros(n, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    final = np.zeros(n, dtype=bool)  # the term recorded now starts after `end`: stop after it

    rows: dict[str, list[np.ndarray]] = {k: [] for k in
                                         ("acct", "start", "end", "mrr", "type", "reason",
                                          "leaving")}
    events: dict[str, list[np.ndarray]] = {k: [] for k in ("acct", "end", "reason")}
    levels: dict[str, list[np.ndarray]] = {k: [] for k in ("acct", "day", "gain")}
    spots: dict[str, list[np.ndarray]] = {k: [] for k in ("acct", "start", "end")}

    def record(acct, start, end, mrr, kind, reason=None, leaving=None):
        rows["acct"].append(acct)
        rows["start"].append(start)
        rows["end"].append(end)
        rows["mrr"].append(mrr)
        rows["type"].append(np.full(len(acct), kind) if np.isscalar(kind) else kind)
        rows["reason"].append(np.full(len(acct), -1) if reason is None else reason)
        rows["leaving"].append(np.zeros(len(acct), dtype=bool) if leaving is None else leaving)

    while alive.any():
        idx = np.flatnonzero(alive)
        k = len(idx)
        start, length, mrr = cur_start[idx], cur_len[idx], cur_mrr[idx]
        end = _add_months(start, length) - 1

        # Upsell: an overlapping contract from a month start to the end of the current term.
        p_up = (1 - (1 - np.where(a.grower[idx], 0.35, 0.06)) ** (length / 12))
        up_day = start + 60 + (rng.random(k) * np.maximum(end - start - 120, 0)).astype(np.int64)
        up_start = _month_start(_month_index(up_day))
        up_start = np.where(up_start < start + 30, _add_months(up_start, 1), up_start)
        upsell = ((rng.random(k) < p_up) & (end - start > 150) & (up_start <= end - 60)
                  & (up_start <= w.end) & ~final[idx])
        up_mrr = np.maximum(np.round(mrr * rng.uniform(0.15, 0.5, k) / 10_000) * 10_000, 10_000)
        if upsell.any():
            record(idx[upsell], up_start[upsell], end[upsell], up_mrr[upsell], TYPE_UPSELL)
            levels["acct"].append(idx[upsell])
            levels["day"].append(up_start[upsell])
            levels["gain"].append(rng.uniform(0.3, 0.6, int(upsell.sum())))

        # Outcome at the end of the term.
        annual = np.where((renewals[idx] == 0) & (cur_type[idx] == TYPE_NEW),
                          ANNUAL_CHURN_FIRST, ANNUAL_CHURN_LATER) * a.risk[idx]
        p_leave = 1 - (1 - np.clip(annual, 0, 0.9)) ** (length / 12)
        u = rng.random(k)
        leaves = (u < p_leave) & ~final[idx]
        comes_back = leaves & (rng.random(k) < REACTIVATION_SHARE)
        renews = ~leaves & ~final[idx]
        drawn_reason = rng.choice(len(CHURN_REASONS), k, p=CHURN_REASON_SHARE)
        # The reason is written only once the contract has ended by `end`.
        reason = np.where(leaves & (end < w.end), drawn_reason, -1)
        record(idx, start, end, mrr, cur_type[idx], reason, leaving=leaves)
        relevant = leaves & (end - 150 <= w.end)

        # Spot contract: extra viewer capacity for a large event (an IR briefing, a recruiting
        # fair) for one to three calendar months inside a term the customer renews after.
        p_spot = 1 - (1 - SPOT_RATE * np.where(a.plan[idx] >= 300_000, 1.5, 1.0)) ** (length / 12)
        spot_day = start + 30 + (rng.random(k) * np.maximum(end - start - 60, 0)).astype(np.int64)
        spot_month = _month_index(spot_day) + 1
        spot_start = _month_start(spot_month)
        spot_end = _month_start(spot_month + rng.integers(1, 4, k)) - 1
        spot = ((rng.random(k) < p_spot) & (spot_end <= end) & (spot_start <= w.end)
                & renews)
        spot_mrr = np.maximum(np.round(mrr * rng.uniform(0.2, 0.6, k) / 10_000) * 10_000, 10_000)
        if spot.any():
            record(idx[spot], spot_start[spot], spot_end[spot], spot_mrr[spot], TYPE_UPSELL)
            spots["acct"].append(idx[spot])
            spots["start"].append(spot_start[spot])
            spots["end"].append(spot_end[spot])
        events["acct"].append(idx[relevant])
        events["end"].append(end[relevant])
        events["reason"].append(drawn_reason[relevant])

        # Next term.
        late = np.where(rng.random(k) < 0.12, rng.integers(2, 29, k), 0)
        folded = np.where(upsell & (rng.random(k) < 0.85), up_mrr, 0)
        change = rng.random(k)
        grows = np.where(a.grower[idx], 0.3, 0.08)
        factor = np.where(change < grows, rng.uniform(1.1, 1.4, k),
                          np.where(change > 0.92, rng.uniform(0.6, 0.9, k), 1.0))
        next_mrr = np.where(comes_back, _round_plan(a.plan[idx] * rng.uniform(0.7, 1.1, k)),
                            _round_plan((mrr + folded) * factor))
        next_start = np.where(comes_back, end + 1 + rng.integers(40, 241, k), end + 1 + late)
        changed = renews & (factor != 1.0) & (next_start <= w.end)
        if changed.any():
            levels["acct"].append(idx[changed])
            levels["day"].append(next_start[changed])
            levels["gain"].append((factor[changed] - 1) * rng.uniform(0.8, 1.2, int(changed.sum())))

        next_len = np.where(length == 6, np.where(rng.random(k) < 0.65, 12, 6),
                            np.where(length == 24, np.where(rng.random(k) < 0.4, 24, 12),
                                     rng.choice([12, 24, 6], k, p=[0.92, 0.05, 0.03])))
        # A renewal is on file when it has started, when the old term already ended (late
        # renewal signed), or sometimes when the term ends within 60 days (signed early).
        signed_early = renews & (end >= w.end) & (end - w.end <= 60) & (rng.random(k) < 0.35)
        continues = ((renews | comes_back) & (next_start <= w.end)) | \
                    (renews & (end < w.end)) | signed_early
        goes_final = continues & (next_start > w.end)

        alive[idx] = continues
        final[idx] = goes_final
        cur_start[idx] = next_start
        cur_len[idx] = next_len
        cur_mrr[idx] = next_mrr
        cur_type[idx] = np.where(comes_back, TYPE_NEW, TYPE_RENEWAL)
        renewals[idx] = np.where(comes_back, 0, renewals[idx] + 1)

    c = _Chain()
    c.acct = np.concatenate(rows["acct"])
    c.start = np.concatenate(rows["start"])
    c.end = np.concatenate(rows["end"])
    c.mrr = np.concatenate(rows["mrr"]).astype(np.float64)
    c.type = np.concatenate(rows["type"]).astype(np.int64)
    c.reason = np.concatenate(rows["reason"]).astype(np.int64)
    c.leaving = np.concatenate(rows["leaving"]).astype(bool)
    order = np.lexsort((c.type == TYPE_UPSELL, c.start, c.acct))
    for name in ("acct", "start", "end", "mrr", "type", "reason", "leaving"):
        setattr(c, name, getattr(c, name)[order])
    c.amount = c.mrr * _month_ends_between(c.start, c.end)
    c.event_acct = np.concatenate(events["acct"])
    c.event_end = np.concatenate(events["end"])
    c.event_reason = np.concatenate(events["reason"])
    c.level_acct = np.concatenate(levels["acct"]) if levels["acct"] else np.zeros(0, np.int64)
    c.level_day = np.concatenate(levels["day"]) if levels["day"] else np.zeros(0, np.int64)
    c.level_gain = np.concatenate(levels["gain"]) if levels["gain"] else np.zeros(0)
    for name in ("acct", "start", "end"):
        setattr(c, f"spot_{name}", np.concatenate(spots[name]) if spots[name]
                else np.zeros(0, np.int64))
    return c


# ---------------------------------------------------------------------------- renewal terms

# Most customers sign terms that renew by themselves unless cancelled 30–90 days ahead.
AUTO_RENEW_SHARE = 0.8
NOTICE_DAYS = (30, 45, 60, 90)
NOTICE_DAYS_SHARE = (0.4, 0.1, 0.3, 0.2)


class _Terms:
    """Per contract: auto_renew, notice_days (-1: none) and notice_date (-1: no notice)."""


def _renewal_terms(rng, a: _Accounts, c: _Chain, w: _Window) -> _Terms:
    """The renewal terms of every contract (drawn from their own generator, so the rest of
    the data is the same with or without them).

    Each account keeps one set of terms: about 80% renew automatically with 30, 45, 60 or 90
    days' notice, the others sign each term again. Spot contracts (an upsell that ends before
    the term it sits in) renew by nothing. A customer leaving at a term's end gives notice: by
    the deadline, up to 45 days before it, when the term renews by itself; on about 60% of the
    terms that do not, 14–60 days before the end. Only notice given by `end` is recorded.
    """
    auto = rng.random(a.n) < AUTO_RENEW_SHARE
    notice = np.array(NOTICE_DAYS)[rng.choice(len(NOTICE_DAYS), a.n, p=NOTICE_DAYS_SHARE)]
    t = _Terms()
    # Each contract's main term ending the same day (an upsell leaves or stays with it).
    main = np.flatnonzero(c.type != TYPE_UPSELL)
    term_key = c.acct[main] * 1_000_000 + c.end[main]  # unique: terms never overlap
    order = np.argsort(term_key)
    key = c.acct * 1_000_000 + c.end
    pos = np.clip(np.searchsorted(term_key[order], key), 0, len(main) - 1)
    ends_a_term = term_key[order][pos] == key
    leaving = ends_a_term & c.leaving[main[order][pos]]
    t.auto_renew = auto[c.acct] & ends_a_term
    t.notice_days = np.where(t.auto_renew, notice[c.acct], -1)
    # Drawn per term; an upsell gives notice with its term.
    term = main[order][pos]
    ahead = np.where(t.auto_renew, t.notice_days + rng.integers(0, 46, len(c.acct))[term],
                     rng.integers(14, 61, len(c.acct))[term])
    gives_notice = leaving & (t.auto_renew | (rng.random(len(c.acct)) < 0.6)[term])
    day = c.end - ahead
    t.notice_date = np.where(gives_notice & (day <= w.end), day, -1)
    return t


# ---------------------------------------------------------------------------- segments


class _Segments:
    """Continuous customer periods per account, with the decline that ends a leaving one."""


def _segments(rng, c: _Chain, w: _Window) -> _Segments:
    """Continuous customer periods: main terms joined across gaps within the renewal grace.

    A segment closed by a leaving customer (churn or a later reactivation) carries the decline
    that precedes it: `decline_days` before its end, in one of the decline styles.
    """
    main = c.type != TYPE_UPSELL
    acct, start, end, kind = c.acct[main], c.start[main], c.end[main], c.type[main]
    new_account = np.r_[True, acct[1:] != acct[:-1]]
    gap = start - np.r_[0, end[:-1]] - 1  # terms of one account never overlap
    heads = np.flatnonzero(new_account | (gap > GRACE_DAYS))
    s = _Segments()
    s.count = len(heads)
    s.acct = acct[heads]
    s.start = start[heads]
    s.end = np.maximum.reduceat(end, heads)
    s.opens_new = kind[heads] == TYPE_NEW
    s.clip_start = np.maximum(s.start, w.start)
    s.clip_end = np.minimum(s.end, w.end)
    s.active_at_end = (s.start <= w.end) & (s.end >= w.end)

    s.decline_days = np.zeros(s.count, dtype=np.int64)
    s.style = np.full(s.count, STYLE_NONE)
    seg_key = s.acct * 1_000_000 + s.end  # sorted: segments are in (account, start) order
    event_key = c.event_acct * 1_000_000 + c.event_end
    pos = np.clip(np.searchsorted(seg_key, event_key), 0, s.count - 1)
    hit = seg_key[pos] == event_key
    pos, reason = pos[hit], c.event_reason[hit]
    # Campaign ended (施策終了・中止): usage mostly stops; other reasons fade out.
    campaign = reason == 0
    u = rng.random(len(pos))
    style = np.where(campaign, np.where(u < 0.35, STYLE_SILENT,
                                        np.where(u < 0.7, STYLE_DORMANT, STYLE_FADING)),
                     np.where(u < 0.8, STYLE_FADING, STYLE_DORMANT))
    s.style[pos] = style
    s.decline_days[pos] = rng.integers(60, 151, len(pos))
    return s


# ---------------------------------------------------------------------------- risk signals


def _force_signals(rng, a: _Accounts, s: _Segments, w: _Window) -> tuple[np.ndarray, np.ndarray]:
    """Make sure some customers active at `end` show each risk signal (SPEC §4).

    About 2% each go silent (no login for 80–110 days) or drop their deliveries (a campaign
    that ended 85–100 days ago) ahead of a renewal due within 90 days with nothing signed; about
    3% have had no contact for 65–120 days. Returns (account, no contact since day) pairs.
    """
    n_active = int(s.active_at_end.sum())
    if n_active == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    k = max(1, round(0.02 * n_active))
    candidates = np.flatnonzero(
        s.active_at_end & (s.end >= w.end + 10) & (s.end <= w.end + 90)
        & (s.clip_start <= w.end - 200) & (a.deliveries_month[s.acct] >= 3))
    chosen = rng.permutation(candidates)[:2 * k]
    silent, dormant = chosen[:k], chosen[k:]
    s.style[silent] = STYLE_SILENT
    s.decline_days[silent] = s.end[silent] - (w.end - rng.integers(80, 111, len(silent)))
    s.style[dormant] = STYLE_DORMANT
    s.decline_days[dormant] = s.end[dormant] - (w.end - rng.integers(85, 101, len(dormant)))

    settled = np.flatnonzero(s.active_at_end & (s.clip_start <= w.end - 150))
    quiet = rng.permutation(settled)[:max(1, round(0.03 * n_active))]
    return s.acct[quiet], w.end - rng.integers(65, 121, len(quiet))


# ---------------------------------------------------------------------------- usage


class _Usage:
    """One row per account per customer day in the window, with its counts."""


def _calendar(w: _Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per day of the window: delivery factor, login factor, business day."""
    days = w.days
    weekday = _weekday(days)
    month = _month_index(days)
    month_of_year = month % 12
    day_of_month = days - _month_start(month) + 1
    off = np.zeros(len(days), dtype=bool)
    for m, d in DAYS_OFF:
        off |= (month_of_year == m - 1) & (day_of_month == d)
    business = (weekday < 5) & ~off
    season = np.asarray(MONTH_SEASON)[month_of_year]
    delivery = np.where(off, DELIVERY_WEEKDAY[6], np.asarray(DELIVERY_WEEKDAY)[weekday])
    login = np.where(off, LOGIN_WEEKDAY[6], np.asarray(LOGIN_WEEKDAY)[weekday])
    delivery = delivery / np.mean(DELIVERY_WEEKDAY) * season
    login = login / np.mean(LOGIN_WEEKDAY) * np.sqrt(season)
    return delivery, login, business


def _usage(rng, a: _Accounts, s: _Segments, c: _Chain, w: _Window) -> _Usage:
    lengths = np.maximum(s.clip_end - s.clip_start + 1, 0)
    total = int(lengths.sum())
    seg = np.repeat(np.arange(s.count), lengths)
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    day = s.clip_start[seg] + (np.arange(total) - offsets)
    del offsets
    acct = s.acct[seg]
    day_index = day - w.start

    delivery_cal, login_cal, business = _calendar(w)
    window_month = _month_index(w.days) - w.first_month
    month_noise = np.exp(rng.normal(0.0, 0.25, (a.n, w.months)))
    noise = month_noise[acct, window_month[day_index]]

    ramp = np.ones(total)
    fresh = np.flatnonzero(s.opens_new[seg] & (day - s.start[seg] < 75))
    ramp[fresh] = 0.35 + 0.65 * (day[fresh] - s.start[seg[fresh]]) / 75.0
    level = _plan_level(a.n, acct, day, c)

    # Decline before a customer leaves: the last `decline_days` of the segment.
    u = _Usage()
    deliveries_mult, logins_mult, u.contact_mult = np.ones(total), np.ones(total), np.ones(total)
    decline_from = np.where(s.decline_days > 0, s.end - s.decline_days, np.iinfo(np.int64).max)
    rows = np.flatnonzero(day > decline_from[seg])
    seg_r = seg[rows]
    length, to_end, style = s.decline_days[seg_r], s.end[seg_r] - day[rows], s.style[seg_r]
    progress = np.sqrt(1.0 - to_end / length)
    elapsed = np.clip((length - to_end) / 21.0, 0.0, 1.0)
    styles = [style == STYLE_FADING, style == STYLE_DORMANT, style == STYLE_SILENT]
    deliveries_mult[rows] = np.select(styles, [1.0 - 0.85 * progress, 1.0 - 0.97 * elapsed,
                                               1.0 - elapsed], 1.0)
    logins_mult[rows] = np.select(styles, [1.0 - 0.7 * progress, 1.0 - 0.92 * elapsed,
                                           1.0 - elapsed], 1.0)
    u.contact_mult[rows] = np.select(styles, [0.5, 0.35, 0.15], 1.0)

    base = noise * level * ramp
    deliveries = rng.poisson(a.deliveries_month[acct] * (12 / 365) * delivery_cal[day_index]
                             * base * deliveries_mult)
    logins = rng.poisson(a.logins_day[acct] * login_cal[day_index] * np.sqrt(noise * level)
                         * ramp * logins_mult)
    del base, deliveries_mult, logins_mult, level, ramp, noise, progress, elapsed

    viewers = np.zeros(total, dtype=np.int64)
    registrants = np.zeros(total, dtype=np.int64)
    conversions = np.zeros(total, dtype=np.int64)
    held = np.flatnonzero(deliveries > 0)
    held_acct = acct[held]
    audience = np.where(_in_spot(acct[held], day[held], c), SPOT_VIEWERS, 1.0)
    viewers[held] = rng.poisson(deliveries[held] * a.viewers_per_delivery[held_acct] * audience
                                * np.exp(rng.normal(0.0, 0.3, len(held))))
    registrants[held] = viewers[held] + rng.poisson(
        viewers[held] * (1.0 / a.show_rate[held_acct] - 1.0))
    conversions[held] = rng.binomial(viewers[held], a.conversion_rate[held_acct])
    active_users = np.zeros(total, dtype=np.int64)
    logged = np.flatnonzero(logins > 0)
    active_users[logged] = np.maximum(rng.binomial(logins[logged], a.user_share[acct[logged]]), 1)

    # The export is a calendar × tenant spine: a tenant exists from its first customer day in
    # the window and is kept after its contracts end, so the days between customer periods and
    # after churn are rows of zeros too.
    first = np.r_[True, acct[1:] != acct[:-1]]  # rows are in (account, day) order
    tenants, first_day = acct[first], day[first]
    span = w.end - first_day + 1
    start_row = np.cumsum(span) - span
    row_of = np.zeros(a.n, dtype=np.int64)
    row_of[tenants] = start_row
    first_of = np.zeros(a.n, dtype=np.int64)
    first_of[tenants] = first_day
    position = row_of[acct] + (day - first_of[acct])
    n_rows = int(span.sum())
    u.acct = np.repeat(tenants, span)
    u.day = np.repeat(first_day, span) + (np.arange(n_rows) - np.repeat(start_row, span))
    u.business = business[u.day - w.start]
    u.customer = np.zeros(n_rows, dtype=bool)
    u.customer[position] = True
    contact_mult = np.zeros(n_rows)
    contact_mult[position] = u.contact_mult
    u.contact_mult = contact_mult
    for name, values in (("deliveries", deliveries), ("logins", logins), ("viewers", viewers),
                         ("registrants", registrants), ("conversions", conversions),
                         ("active_users", active_users)):
        spine = np.zeros(n_rows, dtype=np.int64)
        spine[position] = values
        setattr(u, name, spine)
    return u


def _in_spot(acct: np.ndarray, day: np.ndarray, c: _Chain) -> np.ndarray:
    """Whether each (account, day) falls inside one of the account's spot contracts."""
    if not len(c.spot_acct):
        return np.zeros(len(acct), dtype=bool)
    order = np.lexsort((c.spot_start, c.spot_acct))
    starts = c.spot_acct[order] * 1_000_000 + c.spot_start[order]
    ends = c.spot_acct[order] * 1_000_000 + c.spot_end[order]
    key = acct * 1_000_000 + day
    pos = np.searchsorted(starts, key, side="right") - 1  # the latest spot starting by then
    return (pos >= 0) & (key <= ends[np.maximum(pos, 0)])


def _plan_level(n: int, acct: np.ndarray, day: np.ndarray, c: _Chain) -> np.ndarray:
    """Usage level from plan changes: it moves over the 90 days before an upsell, upgrade or
    downgrade starts and stays at the new level."""
    level = np.ones(len(acct))
    if not len(c.level_acct):
        return level
    order = np.lexsort((c.level_day, c.level_acct))
    l_acct, l_day, l_gain = c.level_acct[order], c.level_day[order], c.level_gain[order]
    position = np.arange(len(l_acct))
    group_start = np.r_[True, l_acct[1:] != l_acct[:-1]]
    rank = position - np.maximum.accumulate(np.where(group_start, position, 0))
    has_event = np.zeros(n, dtype=bool)
    has_event[l_acct] = True
    rows = np.flatnonzero(has_event[acct])
    r_acct, r_day = acct[rows], day[rows]
    sub = np.ones(len(rows))
    for r in range(int(rank.max()) + 1):
        pick = rank == r
        event_day = np.full(n, np.iinfo(np.int64).max // 4)
        gain = np.zeros(n)
        event_day[l_acct[pick]] = l_day[pick]
        gain[l_acct[pick]] = l_gain[pick]
        sub *= 1.0 + gain[r_acct] * np.clip((r_day - event_day[r_acct] + 90) / 90.0, 0.0, 1.0)
    level[rows] = np.maximum(sub, 0.2)
    return level


# ---------------------------------------------------------------------------- team


class _Team:
    """Users (index 0 the manager, 1 the executive, then members) and each account's owner."""


def _team(rng, a: _Accounts, s: _Segments, w: _Window) -> _Team:
    """The CS team (manager, executive, members) and the owner of every account."""
    n_members = max(5, round(a.n / 25))
    t = _Team()
    t.count = n_members + 2
    width = max(3, len(str(t.count)))
    t.ids = np.array([f"U{i:0{width}d}" for i in range(1, t.count + 1)], dtype=object)
    t.manager, t.executive = 0, 1
    t.roles = np.array(["manager", "executive"] + ["member"] * n_members, dtype=object)
    t.capacity = np.r_[10, -1, rng.integers(20, 31, n_members)]
    t.manager_of = np.r_[t.executive, -1, np.zeros(n_members, dtype=np.int64)]

    combos = len(SURNAMES) * len(GIVEN_NAMES)
    picks = rng.permutation(combos)[:t.count] if t.count <= combos else rng.integers(
        0, combos, t.count)
    names, emails, seen = [], [], {}
    for p in picks:
        (family, family_roman), (given, given_roman) = (SURNAMES[p // len(GIVEN_NAMES)],
                                                        GIVEN_NAMES[p % len(GIVEN_NAMES)])
        local = f"{given_roman}.{family_roman}"
        seen[local] = seen.get(local, 0) + 1
        suffix = "" if seen[local] == 1 else str(seen[local])
        names.append(f"{family} {given}")
        emails.append(f"{local}{suffix}@example.co.jp")
    t.names, t.emails = np.array(names, dtype=object), np.array(emails, dtype=object)

    # Owners: accounts active at `end` fill members' capacity (enterprise ones go to the
    # manager); former customers keep the member who had them.
    active = np.zeros(a.n, dtype=bool)
    active[s.acct[s.active_at_end]] = True
    owner = np.full(a.n, -1, dtype=np.int64)
    big = np.flatnonzero(active & (a.plan >= 1_000_000))
    big = big[np.argsort(-a.plan[big], kind="stable")][:5]
    owner[big] = t.manager
    members = np.arange(2, t.count)
    rest = np.flatnonzero(active & (owner < 0))
    slots = rng.permutation(np.repeat(members, t.capacity[2:]))
    taken = min(len(rest), len(slots))
    owner[rest[:taken]] = slots[:taken]
    owner[rest[taken:]] = members[np.arange(len(rest) - taken) % n_members]
    former = np.flatnonzero(owner < 0)
    owner[former] = rng.choice(members, len(former), p=t.capacity[2:] / t.capacity[2:].sum())
    t.owner = owner
    t.active_accounts = active
    return t


# ---------------------------------------------------------------------------- activities


class _Activities:
    """Activities in (date, account) order, subjects as codes into `labels`."""


def _activities(rng, a: _Accounts, s: _Segments, c: _Chain, u: _Usage, t: _Team,
                no_contact: tuple[np.ndarray, np.ndarray], w: _Window) -> _Activities:
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # acct, day, type, subj

    def add(acct, day, kind, subject):
        keep = (day >= w.start) & (day <= w.end)
        parts.append((acct[keep], day[keep], np.broadcast_to(kind, acct.shape)[keep],
                      np.broadcast_to(subject, acct.shape)[keep]))

    subjects = [SUBJECTS[k] for k in ACTIVITY_TYPES]
    labels = [s_ for group in subjects for s_ in group]
    subject_base = np.cumsum([0] + [len(g) for g in subjects])[:-1]
    extra = ["キックオフMTG", "初期設定のご案内", "オンボーディング研修", "更新のご案内",
             "更新条件のご相談", "QBR（四半期ビジネスレビュー）", "大規模配信の事前打ち合わせ"]
    extra_code = {label: len(labels) + i for i, label in enumerate(extra)}
    labels += extra
    MEETING, EMAIL, CALL, OTHER = range(4)

    # Day-to-day contact on business days, fewer while an account declines.
    per_day = a.contacts_month[u.acct] * 12 / 245 * u.contact_mult
    hit = np.flatnonzero(u.customer & u.business & (rng.random(len(u.acct)) < per_day))
    acct = u.acct[hit]
    meeting_share = (0.2 + 0.1 * (a.plan[acct] >= 300_000)
                     + 0.05 * np.isin(a.industry[acct], [2, 3]))
    draw = rng.random(len(hit))
    kind = np.where(draw < meeting_share, MEETING,
                    np.where(draw < meeting_share + 0.45, EMAIL,
                             np.where(draw < meeting_share + 0.67, CALL, OTHER)))
    sizes = np.array([len(g) for g in subjects])
    subject = subject_base[kind] + (rng.random(len(hit)) * sizes[kind]).astype(np.int64)
    add(acct, u.day[hit], kind, subject)

    # New customers: kickoff, setup mail, onboarding training.
    fresh = np.flatnonzero(s.opens_new & (s.start >= w.start))
    f_acct, f_start = s.acct[fresh], s.start[fresh]
    add(f_acct, _business_day(f_start + rng.integers(0, 8, len(fresh))), MEETING,
        extra_code["キックオフMTG"])
    add(f_acct, _business_day(f_start + rng.integers(1, 6, len(fresh))), EMAIL,
        extra_code["初期設定のご案内"])
    add(f_acct, _business_day(f_start + rng.integers(10, 31, len(fresh))), MEETING,
        extra_code["オンボーディング研修"])

    # Renewal notices before each term ends; larger customers also meet about the terms.
    main = np.flatnonzero((c.type != TYPE_UPSELL) & (c.start <= w.end))
    m_acct, m_end = c.acct[main], c.end[main]
    notice = _business_day(m_end - rng.integers(30, 61, len(main)))
    sent = (rng.random(len(main)) < 0.8) & (notice >= c.start[main])
    add(m_acct[sent], notice[sent], EMAIL, extra_code["更新のご案内"])
    talk = _business_day(m_end - rng.integers(14, 41, len(main)))
    met = (rng.random(len(main)) < 0.5) & (a.plan[m_acct] >= 200_000) & (talk >= c.start[main])
    add(m_acct[met], talk[met], MEETING, extra_code["更新条件のご相談"])

    # A planning meeting before each large event covered by a spot contract.
    add(c.spot_acct, _business_day(c.spot_start - rng.integers(7, 21, len(c.spot_acct))),
        MEETING, extra_code["大規模配信の事前打ち合わせ"])

    # Quarterly business reviews for large customers, on days they are customers.
    large = np.flatnonzero(a.plan >= 300_000)
    quarters = np.arange(w.first_month - w.first_month % 3, w.first_month + w.months, 3)
    q_acct = np.repeat(large, len(quarters))
    q_day = _business_day(np.tile(_month_start(quarters), len(large))
                          + rng.integers(7, 41, len(q_acct)))
    keys = (u.acct * 1_000_000 + u.day)[u.customer]  # sorted: rows in (account, day) order
    q_key = q_acct * 1_000_000 + q_day
    pos = np.clip(np.searchsorted(keys, q_key), 0, max(len(keys) - 1, 0))
    customer = (keys[pos] == q_key) if len(keys) else np.zeros(len(q_key), bool)
    customer &= rng.random(len(q_acct)) < 0.85
    add(q_acct[customer], q_day[customer], MEETING, extra_code["QBR（四半期ビジネスレビュー）"])

    acct = np.concatenate([p[0] for p in parts])
    day = np.concatenate([p[1] for p in parts])
    kind = np.concatenate([p[2] for p in parts]).astype(np.int64)
    subject = np.concatenate([p[3] for p in parts]).astype(np.int64)

    # Accounts nobody has contacted lately.
    silence_from = np.full(a.n, np.iinfo(np.int64).max // 4)
    silence_from[no_contact[0]] = no_contact[1]
    keep = day < silence_from[acct]
    acct, day, kind, subject = acct[keep], day[keep], kind[keep], subject[keep]

    order = np.lexsort((subject, kind, acct, day))
    r = _Activities()
    r.acct, r.day, r.kind, r.subject = acct[order], day[order], kind[order], subject[order]
    r.labels = np.array(labels, dtype=object)
    by_manager = rng.random(len(order)) < 0.08
    r.owner = np.where(by_manager, t.manager, t.owner[r.acct])
    return r


# ---------------------------------------------------------------------------- frames


def _company_names(rng, a: _Accounts, holding: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Unique fictional names; a holding company's subsidiaries share its name prefix."""
    prefix = rng.integers(len(NAME_PREFIXES), size=a.n)
    heads = np.flatnonzero(holding)
    prefix[heads] = rng.permutation(np.resize(np.arange(len(NAME_PREFIXES)), len(heads)))
    children = np.flatnonzero(parent >= 0)
    prefix[children] = prefix[parent[children]]
    in_group = holding | (parent >= 0)
    names = np.empty(a.n, dtype=object)
    todo = np.arange(a.n)
    for _attempt in range(30):
        if len(todo) == 0:
            break
        free = todo[~in_group[todo]]  # a clash outside a group may change its prefix
        prefix[free] = rng.integers(len(NAME_PREFIXES), size=len(free))
        names[todo] = [_company_name(rng, INDUSTRIES[a.industry[i]], NAME_PREFIXES[prefix[i]],
                                     holding=bool(holding[i]), corporate=bool(in_group[i]))
                       for i in todo]
        todo = np.flatnonzero(pd.Series(names).duplicated().to_numpy())
    for number, i in enumerate(todo, start=2):  # a crowded name space: number the branches
        names[i] = f"{names[i]} 第{number}営業所"
    return names


def _company_name(rng, industry: str, prefix: str, *, holding: bool, corporate: bool) -> str:
    if industry == "官公庁":
        place = CITY_NAMES[rng.integers(len(CITY_NAMES))] + ("市", "市", "町", "村")[rng.integers(4)]
        if rng.random() < 0.1:
            return f"{place}教育委員会"
        return f"{place} {CITY_DEPARTMENTS[rng.integers(len(CITY_DEPARTMENTS))]}"
    region = NAME_REGIONS[rng.choice(len(NAME_REGIONS), p=NAME_REGION_SHARE)]
    if holding:
        return f"{prefix}{region}ホールディングス株式会社"
    form = rng.random()
    if industry == "医療" and form < 0.3 and not corporate:
        return f"医療法人社団{prefix}会"
    if industry == "教育" and form < 0.35 and not corporate:
        return f"学校法人{prefix}学園"
    words = INDUSTRY_WORDS[industry]
    body = f"{prefix}{region}{words[rng.integers(len(words))]}"
    form = rng.random()
    if form < 0.45:
        return f"株式会社{body}"
    if form < 0.85:
        return f"{body}株式会社"
    return f"㈱{body}"


def _dates(days: np.ndarray) -> pd.Series:
    return pd.Series(days.astype("datetime64[D]").astype("datetime64[s]"))


def _text(values) -> pd.Series:
    return pd.Series(pd.array(list(values), dtype="str"))


def _take_text(labels: np.ndarray, index: np.ndarray) -> pd.Series:
    """labels[index] as a `str` column, built in Arrow (fast for millions of rows)."""
    return pd.Series(pa.compute.take(pa.array(list(labels), type=pa.string()),
                                     pa.array(index)).to_pandas())


def _frames(rng, a: _Accounts, c: _Chain, terms: _Terms, s: _Segments, u: _Usage,
            act: _Activities, t: _Team, w: _Window) -> Tables:
    width = max(5, len(str(a.n)))
    account_ids = np.array([f"A{i:0{width}d}" for i in range(1, a.n + 1)], dtype=object)

    # Holding companies (about 2%) with two subsidiaries each on average.
    holding = np.zeros(a.n, dtype=bool)
    parent = np.full(a.n, -1)
    companies = np.flatnonzero(a.industry != INDUSTRIES.index("官公庁"))
    heads = rng.permutation(companies)[:a.n // 50]
    holding[heads] = True
    others = rng.permutation(companies[~holding[companies]])
    children = others[:min(len(others), 2 * len(heads))]
    if len(heads):
        parent[children] = heads[np.arange(len(children)) % len(heads)]
    names = _company_names(rng, a, holding, parent)

    # State at `end`: churned customers carry the reason of their last contract.
    main = c.type != TYPE_UPSELL
    last_term = np.full(a.n, -1)
    last_term[c.acct[main]] = np.flatnonzero(main)  # terms are in start order per account
    last_reason = c.reason[last_term]
    last_end = np.full(a.n, w.end)
    last_end[s.acct] = np.minimum(s.end, w.end)  # segments in order: the last one wins
    churned = ~t.active_accounts
    since = np.where(a.first_type == TYPE_RENEWAL, a.created, a.first_start)
    tenure = np.where(churned, last_end, w.end) - since
    phase = np.where(tenure < 120, "onboarding", np.where(tenure < 730, "adoption", "mature"))
    reason_text = np.array(list(CHURN_REASONS) + [None], dtype=object)
    account_reason = np.where(churned, last_reason, -1)

    accounts = pd.DataFrame({
        "account_id": _text(account_ids),
        "name": _text(names),
        "owner_id": _take_text(t.ids, t.owner),
        "industry": _take_text(np.array(INDUSTRIES, dtype=object), a.industry),
        "phase": _text(phase),
        "created_date": _dates(a.created),
        "churn_reason": _text(reason_text[account_reason]),
        "parent_id": _text(np.where(parent >= 0, account_ids[np.maximum(parent, 0)], None)),
        "sf_url": _text([None] * a.n),
    })

    c_width = max(6, len(str(len(c.acct))))
    contracts = pd.DataFrame({
        "contract_id": _text(f"C{i:0{c_width}d}" for i in range(1, len(c.acct) + 1)),
        "account_id": _take_text(account_ids, c.acct),
        "start_date": _dates(c.start),
        "end_date": _dates(c.end),
        "amount": c.amount.astype(np.float64),
        "mrr": np.full(len(c.acct), np.nan),
        "status": _text(np.where(c.end < w.end, "Expired", "Activated")),
        "type": _take_text(np.array(["new", "renewal", "upsell"], dtype=object), c.type),
        "churn_reason": _text(reason_text[c.reason]),
        "auto_renew": terms.auto_renew,
        "notice_days": pd.array([int(v) if v >= 0 else None for v in terms.notice_days],
                                dtype="Int64"),
        "notice_date": _dates(terms.notice_date).where(terms.notice_date >= 0),
    })

    a_width = max(7, len(str(len(act.acct))))
    activities = pd.DataFrame({
        "activity_id": _text(f"T{i:0{a_width}d}" for i in range(1, len(act.acct) + 1)),
        "account_id": _take_text(account_ids, act.acct),
        "date": _dates(act.day),
        "type": _take_text(np.array(ACTIVITY_TYPES, dtype=object), act.kind),
        "owner_id": _take_text(t.ids, act.owner),
        "subject": _take_text(act.labels, act.subject),
    })

    usage = pd.DataFrame({
        "account_id": _take_text(account_ids, u.acct),
        "date": _dates(u.day),
        "deliveries": u.deliveries,
        "logins": u.logins,
        "viewers": u.viewers,
        "registrants": u.registrants,
        "conversions": u.conversions,
        "active_users": u.active_users,
    })

    users = pd.DataFrame({
        "user_id": _text(t.ids),
        "name": _text(t.names),
        "email": _text(t.emails),
        "role": _text(t.roles),
        "manager_id": _text(np.where(t.manager_of >= 0, t.ids[np.maximum(t.manager_of, 0)],
                                     None)),
        "capacity": pd.array([int(v) if v >= 0 else None for v in t.capacity], dtype="Int64"),
        "active": np.ones(t.count, dtype=bool),
    })
    tables = {"users": users, "accounts": accounts, "contracts": contracts,
              "activities": activities, "usage": usage}
    return {name: tables[name][contract.TABLES[name].column_names]
            for name in contract.TABLE_ORDER}


def _cast_list(spec: contract.Table) -> str:
    return ", ".join(f'CAST("{c.name}" AS {c.sql_type}) AS "{c.name}"' for c in spec.columns)
