"""Email, social media and the content calendar.

Email: a weekly campaign (every Thursday, to the engaged segment) plus one to the whole list
when a promotion starts, and four automated flows sending every day. The list grows with
consenting new customers and sign-ups and shrinks by unsubscribes, spam complaints and hard
bounces, exactly as the sends report them. Email orders are attributed to the latest
campaign (within three days) or to the flows.

Social: posts on four platforms with reach proportional to followers; followers grow.

Content calendar: every post, campaign, promotion launch, banner and weekly site task as a
done (or skipped) item, the next month planned, and this week's unfinished work overdue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from opslib.demo.ledger import Ledger
from opslib.demo.plan import HOUR, TRAFFIC, World, promotions_of_year

__all__ = ["email", "SocialPlatform", "PLATFORMS", "social", "content_calendar"]

ENGAGED_SHARE = 0.58  # the weekly campaign goes to subscribers active in the last 90 days
# Flows: (id, name, open rate, click rate)
FLOWS = (("welcome", "Welcome series", 0.55, 0.09),
         ("abandoned-checkout", "Abandoned checkout reminder", 0.48, 0.10),
         ("post-purchase", "Post-purchase thank you", 0.60, 0.04),
         ("winback", "Win-back: we miss you", 0.30, 0.02))
THEMES = ("New in", "Bestsellers", "Behind the scenes", "Care guide", "Staff picks",
          "Customer favourites")
OWNERS = {"social": "Maya", "email": "Sam", "promotion": "Priya", "banner": "Jordan",
          "site": "Jordan"}
SITE_TASKS = ("Refresh homepage hero", "Update bestsellers collection",
              "Write missing product descriptions", "Add photos to products without images",
              "Check delivery information page", "Update size guide")


@dataclass(frozen=True)
class Send:
    """One email send: a campaign or a day of a flow, with its expected rates."""

    kind: str  # campaign or flow
    campaign_id: str
    name: str
    audience: str
    size: int
    open_rate: float
    click_rate: float
    unsubscribe_rate: float
    hour: int  # local hour it goes out


def email(world: World, ledger: Ledger, rng: np.random.Generator
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """email_campaigns (campaigns and flows) and email_list_daily."""
    cal = world.calendar
    n_days = cal.n_days
    email_row = next(i for i, t in enumerate(TRAFFIC) if t.medium == "email")
    email_orders = ledger.online_orders[:n_days, email_row]
    email_revenue = ledger.online_revenue[:n_days, email_row] / 100
    signups = ledger.new_subscribers[:n_days] + rng.poisson(world.demand * 0.35)
    subscribers = int(round(world.demand[:30].mean() * 120))
    rows: list[dict] = []
    list_rows = []
    latest, latest_day = None, -10  # row of the latest campaign, and its day
    for d in range(n_days):
        sends = _sends_of_day(world, ledger, d, subscribers, int(signups[d]), rng)
        unsubscribes = spam = hard_bounces = 0
        flows = []
        for send in sends:
            row = _send(send, cal.at(np.array([d]), np.array([send.hour * 3600]))[0], rng)
            unsubscribes += row["unsubscribes"]
            spam += row["spam_complaints"]
            hard_bounces += int(round(row["bounces"] * 0.4))
            rows.append(row)
            if send.kind == "campaign":
                latest, latest_day = len(rows) - 1, d
            else:
                flows.append(len(rows) - 1)
        _attribute(rows, latest if d - latest_day <= 2 else None, flows,
                   int(email_orders[d]), float(email_revenue[d]), rng)
        subscribers = max(0, subscribers + int(signups[d]) - unsubscribes - spam - hard_bounces)
        list_rows.append((cal.days[d], subscribers, int(signups[d]), unsubscribes, spam,
                          hard_bounces))
    campaigns = pd.DataFrame(rows)
    campaigns["sent_at"] = cal.to_utc(campaigns["sent_at"].to_numpy("datetime64[us]"))
    campaigns["attributed_revenue"] = campaigns["attributed_revenue"].round(2)
    email_list = pd.DataFrame(list_rows, columns=["date_day", "subscribers", "new_subscribers",
                                                  "unsubscribes", "spam_complaints",
                                                  "hard_bounces"])
    return campaigns, email_list


def _sends_of_day(world: World, ledger: Ledger, day: int, subscribers: int, signups: int,
                  rng: np.random.Generator) -> list[Send]:
    """The day's campaign (weekly edit to the engaged, or a promotion launch to all) and
    flow sends (welcome, abandoned checkout, post-purchase, win-back)."""
    date = world.calendar.days[day]
    stamp = str(date).replace("-", "")
    sends = []
    if day in world.campaign_days:
        promo = next((p for p in world.promotions
                      if p.last is not None and np.datetime64(p.first) == date), None)
        if promo:
            sends.append(Send("campaign", f"EM-{stamp}", f"{promo.name}: starts today",
                              "All subscribers", subscribers, 0.38, 0.033, 0.0025, 8))
        else:
            when = pd.Timestamp(date)
            theme = "Gift guide" if when.month >= 11 else \
                THEMES[when.isocalendar().week % len(THEMES)]
            sends.append(Send("campaign", f"EM-{stamp}", f"Weekly edit: {theme}",
                              "Engaged (90 days)", int(subscribers * ENGAGED_SHARE), 0.38,
                              0.022, 0.0025, 10))
    sizes = (signups, int(ledger.abandoned_with_email[day] * 0.8),
             int(ledger.orders[day - 3] * 0.5) if day >= 3 else 0,
             int(rng.poisson(subscribers * 0.0015)))
    for (key, name, opens, clicks), size in zip(FLOWS, sizes):
        if size > 0:
            sends.append(Send("flow", f"FL-{key}-{stamp}", name,
                              "Flow: " + name.split(":")[0], size, opens, clicks, 0.003, 12))
    return sends


def _send(send: Send, sent_at: np.datetime64, rng: np.random.Generator) -> dict:
    """An email_campaigns row: bounces, opens, clicks, unsubscribes and complaints."""
    bounces = int(rng.binomial(send.size, 0.006 if send.kind == "campaign" else 0.01))
    delivered = send.size - bounces
    opens = int(rng.binomial(delivered, send.open_rate * rng.uniform(0.9, 1.1)))
    return {"campaign_id": send.campaign_id, "name": send.name, "kind": send.kind,
            "sent_at": sent_at, "audience": send.audience, "sent": send.size,
            "delivered": delivered, "unique_opens": opens,
            "unique_clicks": int(rng.binomial(opens, min(1.0, send.click_rate
                                                         / send.open_rate))),
            "unsubscribes": int(rng.binomial(delivered, send.unsubscribe_rate)),
            "spam_complaints": int(rng.binomial(delivered, 0.0002)),
            "bounces": bounces, "attributed_orders": 0, "attributed_revenue": 0.0}


def _attribute(rows: list[dict], campaign: int | None, flows: list[int],
               orders: int, revenue: float, rng: np.random.Generator) -> None:
    """Split a day's email orders: 60% to a campaign sent in the last three days, the rest
    to the day's flows by their sends."""
    if orders == 0:
        return
    per_order = revenue / orders
    to_campaign = rng.binomial(orders, 0.6) if campaign is not None else 0
    if not flows:
        to_campaign = orders if campaign is not None else 0
    if campaign is not None:
        rows[campaign]["attributed_orders"] += to_campaign
        rows[campaign]["attributed_revenue"] += to_campaign * per_order
    rest = orders - to_campaign
    if flows and rest:
        sent = np.array([rows[i]["sent"] for i in flows], dtype=float)
        for i, k in zip(flows, rng.multinomial(rest, sent / sent.sum())):
            rows[i]["attributed_orders"] += int(k)
            rows[i]["attributed_revenue"] += int(k) * per_order


@dataclass(frozen=True)
class SocialPlatform:
    """A social platform: posts a day, formats, followers per daily order at the start,
    daily follower growth rate, and the post id prefix."""

    name: str
    posts_per_day: float
    formats: tuple[str, ...]
    followers_per_order: float
    growth: float
    prefix: str


PLATFORMS = (
    SocialPlatform("instagram", 0.6, ("image", "carousel", "reel", "story"), 220, 0.0012, "IG"),
    SocialPlatform("facebook", 0.4, ("image", "video", "link", "text"), 160, 0.0005, "FB"),
    SocialPlatform("tiktok", 0.3, ("video",), 50, 0.0018, "TT"),
    SocialPlatform("pinterest", 0.3, ("pin", "idea_pin"), 30, 0.0010, "PN"),
)
FORMAT_REACH = {"reel": 2.5, "video": 2.0, "carousel": 1.3, "idea_pin": 1.4, "story": 0.6,
                "text": 0.5, "link": 0.7, "image": 1.0, "pin": 1.0}


def social(world: World, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """social_posts and social_accounts_daily (followers at the end of each day)."""
    cal = world.calendar
    n_days = cal.n_days
    busy = world.demand / world.demand.mean()
    posts, accounts = [], []
    for platform in PLATFORMS:
        posted = rng.random(n_days) < platform.posts_per_day * np.where(busy > 1.3, 1.4, 1.0)
        followers = np.zeros(n_days, np.int64)
        count = world.demand[:30].mean() * platform.followers_per_order
        for d in range(n_days):
            gain = rng.poisson(count * platform.growth * busy[d] + 6 * posted[d])
            count = max(0.0, count + gain - rng.poisson(count * 0.0004))
            followers[d] = int(count)
        day = np.flatnonzero(posted)
        k = len(day)
        fmt = rng.choice(platform.formats, k)
        factor = np.array([FORMAT_REACH[f] for f in fmt])
        impressions = np.round(followers[day] * rng.uniform(0.12, 0.5, k) * factor
                               * rng.lognormal(0, 0.35, k)).astype(np.int64)
        reach = np.round(impressions * rng.uniform(0.6, 0.85, k)).astype(np.int64)
        posts.append(pd.DataFrame({
            "post_id": [f"{platform.prefix}-{i:06d}" for i in range(1, k + 1)],
            "platform": platform.name,
            "local": cal.at(day, rng.uniform(11, 20, k) * 3600),
            "format": fmt,
            "impressions": impressions, "reach": reach,
            "engagements": rng.binomial(reach, np.where(fmt == "story", 0.01, 0.04)),
            "link_clicks": rng.binomial(reach, np.where(fmt == "story", 0.009, 0.004)),
        }))
        accounts.append(pd.DataFrame({"date_day": cal.days, "platform": platform.name,
                                      "followers": followers}))
    post_frame = pd.concat(posts, ignore_index=True)
    return post_frame, pd.concat(accounts, ignore_index=True)


def content_calendar(world: World, posts: pd.DataFrame, campaigns: pd.DataFrame,
                     rng: np.random.Generator) -> pd.DataFrame:
    """content_calendar: the history's items (done or skipped), this week's unfinished
    items (overdue), items due on `until` and the day after, and the next month's plan.

    `posts` carries local publishing times in column `local`."""
    cal = world.calendar
    until = np.datetime64(cal.until)
    items: list[pd.DataFrame] = []

    def add(planned, channel, title, status, done_local) -> None:
        planned = np.asarray(planned, dtype="datetime64[D]")
        items.append(pd.DataFrame({
            "planned_date": planned, "channel": channel, "title": title,
            "owner": OWNERS[channel], "status": status,
            "done_local": np.asarray(done_local, dtype="datetime64[us]")}))

    nat = np.datetime64("NaT")
    local = posts["local"].to_numpy("datetime64[us]")
    add(local.astype("datetime64[D]"), "social",
        posts["platform"].str.title() + " " + posts["format"] + ": "
        + pd.Series(THEMES)[np.arange(len(posts)) % len(THEMES)].to_numpy(), "done", local)
    skipped = cal.days[rng.random(cal.n_days) < 0.05]
    add(skipped, "social", "Instagram story: " + THEMES[2], "skipped", np.full(len(skipped), nat))
    sent = campaigns[campaigns["kind"] == "campaign"]
    sent_local = sent["sent_at"].dt.tz_convert(cal.zone).dt.tz_localize(None).to_numpy(
        "datetime64[us]")
    add(sent_local.astype("datetime64[D]"), "email", "Email: " + sent["name"].to_numpy(object),
        "done", sent_local - (rng.uniform(1, 3, len(sent)) * 3600e6).astype("timedelta64[us]"))
    promos = [p for p in world.promotions if p.last is not None]
    starts = np.array([p.first for p in promos], dtype="datetime64[D]")
    add(starts, "promotion", [f"Launch {p.name} ({p.code})" for p in promos], "done",
        starts.astype("datetime64[us]") + 7 * HOUR)
    add(starts - 1, "banner", [f"Homepage banner: {p.name}" for p in promos], "done",
        (starts - 1).astype("datetime64[us]") + 16 * HOUR)
    tuesdays = cal.days[pd.DatetimeIndex(cal.days).day_of_week == 1]
    this_week = tuesdays >= until - 7
    done = ~this_week & (rng.random(len(tuesdays)) < 0.85)
    status = np.where(done, "done", np.where(this_week, "planned", "skipped"))
    add(tuesdays, "site", np.array(SITE_TASKS, dtype=object)[np.arange(len(tuesdays))
                                                             % len(SITE_TASKS)], status,
        np.where(done, tuesdays.astype("datetime64[us]")
                 + (rng.uniform(9, 17, len(tuesdays)) * 3600e6).astype("timedelta64[us]"),
                 nat))
    frame = pd.concat(items, ignore_index=True)
    frame = frame[frame["planned_date"] <= until]
    overdue = (frame["status"] == "skipped") & (frame["planned_date"] >= until - 9)
    frame.loc[overdue, "status"] = "planned"
    frame = pd.concat([frame, _plan_ahead(world, rng)], ignore_index=True)
    frame = frame.sort_values(["planned_date", "channel", "title"], kind="stable",
                              ignore_index=True)
    frame.insert(0, "item_id", [f"CC-{i:05d}" for i in range(1, len(frame) + 1)])
    frame["done_at"] = cal.to_utc(frame.pop("done_local").to_numpy("datetime64[us]"))
    return frame


def _plan_ahead(world: World, rng: np.random.Generator) -> pd.DataFrame:
    """Items due on `until` not yet done, and the plan for the 31 days after it: social
    slots (Instagram daily for the first three days), Thursday emails, the promotions that
    start and their banners, Tuesday site tasks. Items in the next three days are ready."""
    until = world.calendar.until
    ahead = np.arange(np.datetime64(until) + 1, np.datetime64(until) + 32)
    rows = [(until, "social", "Instagram story: behind the scenes", "ready"),
            (until, "site", "Check delivery information page", "planned")]
    for platform in PLATFORMS:
        chosen = ahead[rng.random(len(ahead)) < platform.posts_per_day]
        if platform.name == "instagram":
            chosen = np.union1d(chosen, ahead[:3])
        rows += [(d, "social", f"{platform.name.title()} post: {THEMES[i % len(THEMES)]}",
                  None) for i, d in enumerate(chosen)]
    weekday = pd.DatetimeIndex(ahead).day_of_week
    rows += [(d, "email", "Email: weekly edit", None) for d in ahead[weekday == 3]]
    rows += [(d, "site", SITE_TASKS[i % len(SITE_TASKS)], None)
             for i, d in enumerate(ahead[weekday == 1])]
    for promo in promotions_of_year(until.year) + promotions_of_year(until.year + 1):
        first = np.datetime64(promo.first)
        if ahead[0] <= first <= ahead[-1]:
            rows += [(first, "promotion", f"Launch {promo.name} ({promo.code})", None),
                     (first - 1, "banner", f"Homepage banner: {promo.name}", None)]
    frame = pd.DataFrame(rows, columns=["planned_date", "channel", "title", "status"])
    frame["planned_date"] = pd.to_datetime(frame["planned_date"]).to_numpy("datetime64[D]")
    soon = frame["planned_date"] <= np.datetime64(until) + 3
    frame["status"] = frame["status"].fillna(pd.Series(np.where(soon, "ready", "planned")))
    frame["owner"] = frame["channel"].map(OWNERS)
    frame["done_local"] = np.datetime64("NaT", "us")
    return frame
