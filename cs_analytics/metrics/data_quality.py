"""Is Salesforce up to date? The Monday checklist's "stale SF records": records whose state
contradicts the data, one row per account and issue.

Issues (codes):
- `contract_status_stale`: a contract whose end_date is before the as-of date (and no renewal
  grace keeps it active) still has an active-looking status (ACTIVE_STATUSES) — the renewal or
  the cancellation was not recorded.
- `churn_reason_missing`: a customer who churned in the last CHURN_LOOKBACK_MONTHS months has no
  churn reason on the account nor on its contracts.
- `owner_inactive`: an active customer is owned by a user marked inactive, or by no user.
- `industry_missing`: an active customer has no industry (the attribute score needs it).
"""

from __future__ import annotations

import pandas as pd

from cs_analytics.metrics.filters import Filters, condition
from cs_analytics.metrics.held import per_account

ACTIVE_STATUSES = ("activated", "active", "in effect", "有効", "契約中")
CHURN_LOOKBACK_MONTHS = 12
ISSUES = ("contract_status_stale", "churn_reason_missing", "owner_inactive", "industry_missing")


@per_account
def stale_records(snap, filters: Filters | None = None) -> pd.DataFrame:
    """account_id, name, owner_id, owner_name, issue (code), detail (contract id, date or
    owner id the issue is about), sf_url; by issue then account name."""
    where, params = condition(filters, snap, "a.account_id")
    return snap.query(f"""
        WITH p AS (SELECT as_of, CAST(date_trunc('month', as_of) AS DATE) AS as_of_month,
                          mrr_epsilon FROM params),
        active AS (
            SELECT m.account_id FROM fct_account_mrr_monthly m, p
            WHERE m.month = p.as_of_month AND m.mrr >= p.mrr_epsilon
        ),
        issues AS (
            SELECT c.account_id, 'contract_status_stale' AS issue,
                   c.contract_id || ' (' || strftime(c.end_date, '%Y-%m-%d') || ')' AS detail
            FROM contracts c
            JOIN int_contract_mrr m USING (contract_id)
            CROSS JOIN p
            WHERE c.end_date < p.as_of
              AND coalesce(m.active_until, c.end_date) < p.as_of
              AND list_contains($active_statuses, lower(trim(c.status)))
            UNION ALL
            SELECT s.account_id, 'churn_reason_missing', strftime(s.month, '%Y-%m')
            FROM fct_account_mrr_monthly s CROSS JOIN p
            WHERE s.movement = 'churn'
              AND s.month > CAST(p.as_of_month - INTERVAL {CHURN_LOOKBACK_MONTHS} MONTH AS DATE)
              AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = s.account_id
                              AND nullif(trim(a.churn_reason), '') IS NOT NULL)
              AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.account_id = s.account_id
                              AND nullif(trim(c.churn_reason), '') IS NOT NULL)
            UNION ALL
            SELECT a.account_id, 'owner_inactive', a.owner_id
            FROM accounts a JOIN active USING (account_id)
            LEFT JOIN users u ON u.user_id = a.owner_id
            WHERE u.user_id IS NULL OR u.active = false
            UNION ALL
            SELECT a.account_id, 'industry_missing', ''
            FROM accounts a JOIN active USING (account_id)
            WHERE nullif(trim(a.industry), '') IS NULL
        )
        SELECT a.account_id, a.name, a.owner_id, coalesce(u.name, a.owner_id) AS owner_name,
               i.issue, i.detail, a.sf_url
        FROM issues i
        JOIN accounts a USING (account_id)
        LEFT JOIN users u ON u.user_id = a.owner_id
        WHERE {where}
        ORDER BY list_position($issues, i.issue), a.name, a.account_id, i.detail
    """, {**params, "active_statuses": list(ACTIVE_STATUSES), "issues": list(ISSUES)})
