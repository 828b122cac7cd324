"""週次振り返り — per team and week: results, KSF + action plans, KFF + improvement plans and
dated action plans, next to that week's numbers."""

import datetime as dt

import streamlit as st

from cs_analytics.app.ui import data, fmt, session, widgets
from cs_analytics.app.ui.i18n import current_language, formatter, t
from cs_analytics.app.ui.session import viewer
from cs_analytics.app.ui.widgets import Col
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import accounts, team
from cs_analytics.userdata import reviews

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, store, user, lang = data.settings(), data.store(), viewer(), current_language()
widgets.title("review.title")
st.caption(t("review.caption"))

# A member limited to a portfolio sees and writes the review of that portfolio only.
teams = data.call(team.teams, snap, user.owner_scope)
if teams.empty:
    widgets.empty("review.no_team")
    st.stop()
team_names = {r.team: (t("review.all_team") if r.team == team.ALL_TEAM
                       else t("review.portfolio_of", name=r.name) if user.owner_scope is not None
                       else t("review.team_of", name=r.name)) for r in teams.itertuples()}
# The list starts with the week in progress, marked "to date"; the page opens on the last week
# that has ended — the one a review looks back on — not on a week of a few days.
this_week = reviews.week_start(snap.as_of)
weeks = [this_week - dt.timedelta(weeks=i) for i in range(26)]
complete = reviews.last_complete_week(snap.as_of)
days_so_far = (snap.as_of - this_week).days + 1


def week_label(day: dt.date) -> str:
    label = t("review.week_label", date=fmt.date(day, lang))
    return label + (t("review.week_to_date", days=days_so_far)
                    if day == this_week and day != complete else "")


left, right = st.columns(2)
team_key = left.selectbox(t("review.team"), list(team_names), key="review_team",
                          format_func=team_names.get)
week = right.selectbox(t("review.week"), weeks, key="review_week",
                       index=weeks.index(complete), format_func=week_label)
members = data.call(team.team_owner_ids, snap, team_key, user.owner_scope)

numbers = data.call(team.week_numbers, snap, members, week, settings)
st.subheader(t("review.numbers_title", first=fmt.date(week, lang),
               last=fmt.date(numbers["last_day"], lang)))
cols = st.columns(4)
cols[0].metric(t("review.meetings"), fmt.number(numbers["meetings"]), border=True)
cols[1].metric(t("review.emails_calls"), fmt.number(numbers["emails_calls"]), border=True)
cols[2].metric(t("review.signals_entered"), fmt.number(numbers["signals_entered"]), border=True)
cols[3].metric(t("review.no_contact"), fmt.number(numbers["accounts_no_contact"]), border=True)
if numbers["health_day"] is None:
    st.caption(t("review.no_health"))
else:
    st.caption(t("review.bands", day=fmt.date(numbers["health_day"], lang),
                 **{b: numbers[b] for b in ("healthy", "caution", "warning", "danger")}))

saved = reviews.get_review(store, team_key, week) or {}
with st.form(f"review_form_{team_key}_{week}"):
    st.subheader(t("review.form_title"))
    fields = {name: st.text_area(t(f"review.field.{name}"), value=saved.get(name, ""),
                                 key=f"review_{name}_{team_key}_{week}", height=100)
              for name in reviews.REVIEW_FIELDS}
    if st.form_submit_button(t("review.save"), type="primary"):
        try:
            reviews.save_review(store, team_key, week, author=user.author, **fields)
            st.success(t("review.saved"))
        except CsAnalyticsError as exc:
            st.error(str(exc))
if saved:
    st.caption(t("review.last_saved", author=widgets.md_escape(saved["author"]),
                 at=widgets.moment(saved["updated_at"])))

st.subheader(t("review.plans_title"))
plans = reviews.action_plans(store, team_key, week=week)
chosen = widgets.table(plans, {
    "due_date": Col("review.col.due", "date"), "description": Col("review.col.description"),
    "owner": Col("review.col.owner"), "status": Col("review.col.status", "enum", "review.status"),
    "author": Col("review.col.author"),
}, key=f"review_plans_{team_key}_{week}", download=f"action-plans-{week}", select=True,
    empty_key="review.no_plans")
if chosen is not None:
    plan = plans.iloc[chosen]
    status = st.radio(t("review.change_status", plan=widgets.md_escape(plan["description"][:40])),
                      reviews.PLAN_STATUSES, horizontal=True, key=f"plan_status_{plan['id']}",
                      index=reviews.PLAN_STATUSES.index(plan["status"]),
                      format_func=formatter("review.status"))
    if status != plan["status"]:
        reviews.set_action_plan_status(store, int(plan["id"]), status)
        st.rerun()
people = dict(data.call(accounts.users, snap).itertuples(index=False))  # an owner is a user
with st.form(f"plan_form_{team_key}_{week}", clear_on_submit=True):
    st.markdown("**" + t("review.add_plan") + "**")
    description = st.text_input(t("review.col.description"), key="plan_description")
    c1, c2 = st.columns(2)
    due = c1.date_input(t("review.col.due"), value=None, key="plan_due")
    owner = c2.selectbox(t("review.col.owner"), list(people), index=None, key="plan_owner",
                         format_func=people.get, placeholder=t("review.pick_owner"))
    if st.form_submit_button(t("review.add")):
        try:
            reviews.add_action_plan(store, team_key, week, description=description,
                                    due_date=due, owner=people.get(owner, ""),
                                    author=user.author)
            st.rerun()
        except CsAnalyticsError as exc:
            st.error(str(exc))

st.subheader(t("review.open_plans_title"))
widgets.table(reviews.open_action_plans(store, team_key), {
    "week_start": Col("review.col.week", "date"), "due_date": Col("review.col.due", "date"),
    "description": Col("review.col.description"), "owner": Col("review.col.owner"),
}, key=f"review_open_plans_{team_key}", download="open-action-plans",
    empty_key="review.no_open_plans")
