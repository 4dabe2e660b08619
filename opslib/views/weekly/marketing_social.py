"""Marketing and social: did the week's posts, emails and ads do their job?"""

from __future__ import annotations

from opslib import glossary
from opslib import display as show
from opslib.errors import MissingTableError
from opslib.metrics import periods, social
from opslib.store import Store, Window
from opslib.views.base import section
from opslib.views.weekly import common, data

__all__ = ["ROWS", "week_figures", "headline", "social_targets", "posts", "emails", "ads",
           "figures"]

# The tables this page reads: `playbook run` checks them against the data contract
# before the notebook runs (a test keeps this in step with what the page reads).
READS = ("orders", "order_lines", "returns", "web_traffic_daily", "email_campaigns",
         "social_posts", "social_accounts_daily", "ad_spend_daily")

ROWS = glossary.rows(
    "reach", "social_engagement_rate", "count_followers_gained", "email_open_rate",
    "email_click_rate", "ad_spend", "blended_roas",
)
_RECORDED = ["social_engagement_rate", "count_followers_gained", "email_open_rate",
             "email_click_rate", "ad_spend", "blended_roas"]
_SOCIAL = ("reach", "social_engagement_rate", "count_followers_gained")
_EMAIL = ("email_open_rate", "email_click_rate")
_ADS = ("ad_spend", "blended_roas")


def _ads_week(store: Store, window: Window) -> dict[str, float | None]:
    """Ad spend (Σ daily spend) and blended ROAS (the daily KPI over the window)."""
    spend = float(data.ad_days(store, window).ad_spend.sum())
    roas = None
    if store.has("orders") and store.has("order_lines"):
        roas = periods.kpi_totals(data.kpi_days(store, window))["blended_roas"]
    return {"ad_spend": spend, "blended_roas": roas}


def week_figures(store: Store, window: Window) -> dict[str, float | None]:
    """The page's headline figures for any window; None where the data are absent."""
    out: dict[str, float | None] = {}
    out.update(common.safely(data.social_week, store, window, _SOCIAL))
    out.update(common.safely(data.email_week, store, window, _EMAIL))
    out.update(common.safely(_ads_week, store, window, _ADS))
    return {name: out.get(name) for name, _, _ in ROWS}


@section("The week against the week before")
def headline(store: Store, week: Window) -> list:
    """Social, email and ads headline figures against last week and last year."""
    wanted = ("social_posts", "social_accounts_daily", "email_campaigns", "ad_spend_daily")
    if not any(store.has(t) for t in wanted):
        raise MissingTableError("social_posts")
    parts = common.comparison(store, week, ROWS, week_figures, history=wanted)
    return parts + [show.no_data(t, section="Marketing and social") for t in wanted
                    if not store.has(t)]


_TARGET_UNITS = {"count_posts": "count", "reach": "count", "reach_target": "count",
                 "engagements": "count", "social_engagement_rate": "rate",
                 "engagement_rate_target": "rate", "followers": "count",
                 "count_followers_gained": "count", "followers_gained_target": "count"}


@section("Social against the weekly targets")
def social_targets(store: Store, week: Window) -> list:
    """Per platform: reach, engagement rate and followers gained; red = short of a target."""
    frame = data.social_by_platform(store, week)
    return [common.table(store, frame, units=_TARGET_UNITS, highlight="is_below_target",
                         empty="No posts, follower counts or targets this week."),
            show.note("Targets per platform and week: [targets.social] in playbook.toml. "
                      "Reach adds up each post's reach, so an account reached twice counts "
                      "twice; engagement rate = engagements ÷ reach.")]


_POST_COLUMNS = ["rank_label", "platform", "format", "published_at", "reach", "engagements",
                 "engagement_rate", "link_clicks", "post_id"]


@section("Best and worst posts")
def posts(store: Store, week: Window) -> list:
    """The week's posts with the highest and the lowest engagement rate."""
    ranked = social.best_and_worst_posts(data.posts(store, week))
    return [common.table(store, ranked[_POST_COLUMNS],
                         units={"reach": "count", "engagements": "count",
                                "engagement_rate": "rate", "link_clicks": "count"},
                         empty="No post with reach was published this week.")]


_EMAIL_UNITS = {"count_sends": "count", "delivered": "count", "open_rate": "rate",
                "click_rate": "rate", "unsubscribe_rate": "rate", "attributed_revenue": "money",
                "revenue_per_recipient": "money"}


@section("Emails this week")
def emails(store: Store, week: Window) -> list:
    """Campaigns, then automated flows (their daily sends added up)."""
    frame = data.emails(store, week)
    return [common.table(store, frame, units=_EMAIL_UNITS, empty="No email was sent this week."),
            show.note("Rates are over delivered emails; the headline open and click rates "
                      "count one-off campaigns only.")]


_AD_UNITS = {"ad_spend": "money", "impressions": "count", "clicks": "count",
             "click_through_rate": "rate", "conversions": "number",
             "conversion_value": "money", "roas": "ratio", "cost_per_conversion": "money"}


@section("Ads by platform and campaign")
def ads(store: Store, week: Window) -> list:
    """Spend, ROAS and cost per conversion per platform and campaign; CAC for the shop."""
    results = data.ads(store, week)
    by_platform = social.ads_by_platform(results)
    campaigns = social.with_cost_per_conversion(results)
    parts = [common.table(store, by_platform, units=_AD_UNITS, title="By platform",
                          empty="No ad spend this week."),
             common.table(store, campaigns, units=_AD_UNITS, title="By campaign",
                          empty="No ad spend this week.")]
    if store.has("orders"):
        newcomers = data.new_customers(store, week)
        spend = float(results.ad_spend.sum())
        cac = social.customer_acquisition_cost(spend, newcomers)
        parts.append(common.tiles(store, [
            show.Tile("New customers", float(newcomers), "count"),
            show.Tile("CAC (ad spend ÷ new customers)", cac, "money")]))
    parts.append(show.note("ROAS and cost per conversion use the platforms' own attribution; "
                           "CAC is for the shop as a whole (a new customer is not tied to a "
                           "campaign in the data)."))
    return parts


def figures(store: Store, week: Window) -> dict[str, float | None]:
    """social_engagement_rate, count_followers_gained, email_open_rate, email_click_rate,
    ad_spend, blended_roas, each with its _prev_week twin."""
    return common.figures(store, week, _RECORDED, week_figures)
