"""The demo catalogue: products and variants, suppliers, demand shares, competitor prices.

A home-and-lifestyle shop: a few categories with their own price range, yearly season and
return habits; apparel comes in sizes. Popularity follows a steep (Zipf-like) curve so there
are real bestsellers; a few products launch during the history, a few are archived, a few
slow down to dead stock, and a few are drafts that never sold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from opslib.demo.plan import World, rng_for

__all__ = ["Category", "CATEGORIES", "Supplier", "Catalog", "build_catalog",
           "competitor_prices"]


@dataclass(frozen=True)
class Category:
    """A product category: names, price range, yearly shape, variants, return proneness."""

    name: str
    nouns: tuple[str, ...]
    styles: tuple[str, ...]
    price_range: tuple[float, float]
    season: tuple[float, ...]  # relative demand by month, January first
    variants: tuple[str, ...]  # one SKU per variant ("" = a single SKU)
    return_rate: float  # share of delivered orders with an item of it that come back
    vendors: tuple[str, ...]


_FLAT = (1.0,) * 12
CATEGORIES: tuple[Category, ...] = (
    Category("Candles", ("Soy Candle", "Pillar Candle", "Tealight Set", "Reed Diffuser",
                         "Candle Tin"),
             ("Fig & Cedar", "Sea Salt", "Amber", "Wild Mint", "Orange Blossom", "Smoked Oak",
              "Rhubarb", "Black Tea"), (12, 38),
             (0.9, 0.8, 0.8, 0.8, 0.7, 0.6, 0.6, 0.7, 0.9, 1.3, 1.6, 1.7), ("",), 0.04,
             ("Wick & Wax", "Lumen Studio")),
    Category("Mugs & Tableware", ("Stoneware Mug", "Espresso Cup", "Side Plate", "Serving Bowl",
                                  "Teapot"),
             ("Speckled", "Glazed", "Hand-thrown", "Ridged", "Matte"), (9, 48), _FLAT,
             ("Sage", "Oat", "Ink"), 0.06, ("Kiln & Co", "Harbour Pottery")),
    Category("Textiles", ("Linen Cushion", "Wool Throw", "Tea Towel", "Table Runner", "Apron"),
             ("Striped", "Checked", "Washed", "Herringbone", "Plain"), (14, 89),
             (1.1, 1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 1.0, 1.1, 1.2, 1.2), ("Natural", "Rust"),
             0.08, ("Loom House", "Fieldcraft")),
    Category("Apparel", ("Knit Jumper", "Cotton Tee", "Lounge Trousers", "Bucket Hat",
                         "Overshirt"),
             ("Organic", "Heavyweight", "Relaxed", "Ribbed"), (22, 95),
             (1.0, 0.8, 0.9, 1.0, 1.0, 0.9, 0.9, 0.9, 1.1, 1.1, 1.2, 1.2), ("S", "M", "L", "XL"),
             0.17, ("Common Thread", "North Row")),
    Category("Stationery", ("Notebook", "Card Set", "Desk Planner", "Pencil Set", "Wrapping "
                            "Paper"),
             ("Dotted", "Lined", "Botanical", "Marbled", "Kraft"), (4, 26),
             (1.3, 0.9, 0.8, 0.8, 0.8, 0.7, 0.7, 1.0, 1.2, 1.0, 1.3, 1.5), ("",), 0.03,
             ("Paper Lane", "Inkwell")),
    Category("Bath & Body", ("Hand Cream", "Soap Bar", "Bath Salts", "Body Oil", "Lip Balm"),
             ("Lavender", "Neroli", "Oatmeal", "Rose & Geranium", "Vetiver"), (6, 34),
             (1.0, 1.1, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.9, 1.0, 1.3, 1.5), ("",), 0.05,
             ("Salt & Stone", "Meadow Apothecary")),
    Category("Plants & Pots", ("Terracotta Pot", "Plant Stand", "Hanging Planter",
                               "Watering Can", "Herb Kit"),
             ("Small", "Large", "Glazed", "Rattan", "Zinc"), (10, 64),
             (0.7, 0.8, 1.2, 1.6, 1.6, 1.3, 1.0, 0.9, 0.8, 0.7, 0.8, 0.9), ("",), 0.07,
             ("Greenhouse Goods", "Potting Shed")),
    Category("Gifts", ("Gift Box", "Advent Calendar", "Tasting Set", "Gift Card Holder",
                       "Keepsake Tin"),
             ("Deluxe", "Mini", "Classic", "Festive", "Thank You"), (15, 72),
             (0.7, 1.0, 0.7, 0.7, 0.8, 0.7, 0.6, 0.6, 0.8, 1.2, 2.0, 2.6), ("",), 0.04,
             ("Parcel & Bow", "Little Joys")),
)


@dataclass(frozen=True)
class Supplier:
    """A supplier: lead time, payment terms, how often it is late, case pack."""

    name: str
    lead_time_days: int
    payment_terms_days: int
    late_rate: float
    pack: int


_SUPPLIERS = (
    Supplier("Brightside Wholesale", 7, 30, 0.08, 6),
    Supplier("Meridian Imports", 42, 60, 0.20, 24),
    Supplier("Oak & Ember Makers", 14, 30, 0.12, 6),
    Supplier("Coastline Trading", 21, 45, 0.15, 12),
    Supplier("Tandem Textiles", 28, 45, 0.18, 12),
    Supplier("Little Forge Co", 10, 14, 0.10, 6),
)
_SUPPLIER_COUNT = {60: 3, 150: 5}  # SKUs -> suppliers; larger catalogues use all six


@dataclass(frozen=True)
class Catalog:
    """The products table plus the arrays the simulation reads (one entry per SKU)."""

    products: pd.DataFrame
    suppliers: tuple[Supplier, ...]
    supplier_of: np.ndarray  # index into suppliers
    category_of: np.ndarray  # index into CATEGORIES
    price_cents: np.ndarray
    cost_cents: np.ndarray
    share: np.ndarray  # [sku, day]: relative demand (0 when not listed)
    listed: np.ndarray  # [sku, day]: on sale that day (launched, not archived)
    page_quality: np.ndarray  # views -> add-to-cart multiplier (poor pages convert less)
    backordered: np.ndarray  # SKUs that went viral at the end while their supplier is out
    return_rate: np.ndarray

    @property
    def n(self) -> int:
        return len(self.products)


def build_catalog(world: World) -> Catalog:
    """Products (about `size.skus` variants), their suppliers and daily demand shares."""
    rng = rng_for(world.seed, "catalog")
    n_days = world.calendar.n_days
    suppliers = _SUPPLIERS[:_SUPPLIER_COUNT.get(world.size.skus, len(_SUPPLIERS))]
    rows = []
    product_no = 0
    while len(rows) < world.size.skus:
        cat_i = int(rng.integers(len(CATEGORIES)))
        cat = CATEGORIES[cat_i]
        product_no += 1
        title = f"{rng.choice(cat.styles)} {rng.choice(cat.nouns)}"
        low, high = cat.price_range
        price = np.floor(rng.uniform(low, high)) + (0.99 if rng.random() < 0.7 else 0.0)
        vendor_i = int(rng.integers(len(cat.vendors)))
        for variant in cat.variants:
            rows.append({
                "product_id": f"P{product_no:04d}", "category_i": cat_i,
                "title": f"{title} — {variant}" if variant else title,
                "category": cat.name, "vendor": cat.vendors[vendor_i],
                "sku": f"{cat.name[:3].upper()}-{product_no:04d}"
                       + (f"-{variant[:3].upper()}" if variant else ""),
                "price": float(price), "supplier_i": (cat_i + vendor_i) % len(suppliers),
            })
    frame = pd.DataFrame(rows[:world.size.skus])
    n = len(frame)
    price_cents = np.round(frame["price"].to_numpy() * 100).astype(np.int64)
    cost_cents = np.round(price_cents * rng.uniform(0.30, 0.48, n)).astype(np.int64)
    supplier_of = frame["supplier_i"].to_numpy()
    category_of = frame["category_i"].to_numpy()

    status = np.full(n, "active", dtype=object)
    order = rng.permutation(n)
    n_archived, n_draft = max(1, round(0.04 * n)), max(1, round(0.03 * n))
    status[order[:n_archived]] = "archived"
    status[order[n_archived:n_archived + n_draft]] = "draft"
    retire = np.where(status == "archived",
                      rng.integers(n_days // 3, max(n_days // 3 + 1, n_days - 30), n),
                      n_days + 1)
    launch = np.where(rng.random(n) < 0.15, rng.integers(0, max(1, n_days - 30), n), -1)
    launch = np.where(status == "draft", n_days + 1, np.minimum(launch, retire - 60))
    fading = (status == "active") & (rng.random(n) < 0.05)
    fade_day = np.where(fading, n_days - rng.integers(100, 160, n), n_days + 1)

    popularity = 1.0 / (1 + rng.permutation(n)) ** 0.9
    popularity *= np.where(pd.Series(frame["title"]).str.contains("— XL|— S$", regex=True),
                           0.6, 1.0)
    day = np.arange(n_days)
    months = pd.DatetimeIndex(world.calendar.days).month.to_numpy() - 1
    season = np.array([c.season for c in CATEGORIES])[category_of][:, months]
    listed = (day[None, :] >= launch[:, None]) & (day[None, :] < retire[:, None])
    faded = np.where(day[None, :] >= fade_day[:, None], 0.02, 1.0)
    share = popularity[:, None] * season * faded * listed
    backordered = _went_viral(rng, popularity, listed, status, supplier_of, suppliers)
    share[backordered, -VIRAL_DAYS:] *= VIRAL_LIFT

    has_description = ~_few(rng, n, 0.07)
    image_count = np.where(_few(rng, n, 0.05), 0, rng.integers(1, 9, n))
    page_quality = np.where(has_description, 1.0, 0.55) * np.where(image_count == 0, 0.5, 1.0)
    products = pd.DataFrame({
        "sku": frame["sku"], "product_id": frame["product_id"], "title": frame["title"],
        "category": frame["category"], "vendor": frame["vendor"],
        "price": price_cents / 100, "unit_cost": cost_cents / 100, "status": status,
        "supplier": [suppliers[i].name for i in supplier_of],
        "lead_time_days": [suppliers[i].lead_time_days for i in supplier_of],
        "has_description": has_description, "image_count": image_count,
    })
    return_rate = np.array([c.return_rate for c in CATEGORIES])[category_of]
    return Catalog(products=products, suppliers=suppliers, supplier_of=supplier_of,
                   category_of=category_of, price_cents=price_cents, cost_cents=cost_cents,
                   share=share, listed=listed, page_quality=page_quality,
                   return_rate=return_rate * np.where(has_description, 1.0, 1.4),
                   backordered=backordered)


VIRAL_DAYS = 35  # the last five weeks of history
VIRAL_LIFT = 6.0
BACKORDER_DAYS = 60  # purchase orders placed in the last 60 days arrive after `until`


def _went_viral(rng: np.random.Generator, popularity: np.ndarray, listed: np.ndarray,
                status: np.ndarray, supplier_of: np.ndarray,
                suppliers: tuple[Supplier, ...]) -> np.ndarray:
    """A few good sellers (one per 50 SKUs, at least two) that go viral in the last five
    weeks (six times the demand) while their supplier is out of stock: they are sold out
    on `until`, as happens to every shop, so the stock watch always has something to show."""
    lead = np.array([s.lead_time_days for s in suppliers])[supplier_of]
    candidates = np.flatnonzero((status == "active") & listed[:, -BACKORDER_DAYS - 30:].all(axis=1)
                                & (lead <= 28))
    best = candidates[np.argsort(-popularity[candidates], kind="stable")]
    best = best[:max(4, len(best) // 3)]
    chosen = rng.choice(best, min(len(best), max(2, len(popularity) // 50)), replace=False)
    mask = np.zeros(len(popularity), bool)
    mask[chosen] = True
    return mask


def _few(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """A mask of round(share × n) random entries, at least one."""
    mask = np.zeros(n, bool)
    mask[rng.permutation(n)[:max(1, round(share * n))]] = True
    return mask


COMPETITORS = (("Northwind Goods", 0.93), ("Bramble & Co", 1.04), ("Harbour Supply", 1.10))


def competitor_prices(world: World, catalog: Catalog) -> pd.DataFrame:
    """Weekly (Monday) observations of matched SKUs at 2–3 competitors.

    Each competitor sits at its own level around our price (some cheaper, some dearer), its
    prices drift and step over time, and it runs sales in late November ("on sale").
    """
    rng = rng_for(world.seed, "competitors")
    days = world.calendar.days
    mondays = np.flatnonzero(pd.DatetimeIndex(days).day_of_week == 0)
    matched = np.flatnonzero((catalog.products["status"] != "draft").to_numpy()
                             & (rng.random(catalog.n) < 0.5))
    frames = []
    for name, level in COMPETITORS[:2 + int(world.size.skus >= 150)]:
        skus = matched[rng.random(len(matched)) < 0.7]
        base = catalog.price_cents[skus] * level * rng.lognormal(0, 0.06, len(skus))
        steps = rng.normal(0, 0.012, (len(skus), len(mondays)))
        steps *= rng.random(steps.shape) < 0.25  # prices change on about one week in four
        drift = np.exp(np.cumsum(steps, axis=1))
        when = days[mondays]
        month = pd.DatetimeIndex(when).month.to_numpy()
        sale = (month == 11) & (pd.DatetimeIndex(when).day.to_numpy() >= 20)
        sale_cut = np.where(sale, 0.8, 1.0)
        out_of_stock = rng.random(steps.shape) < 0.02
        price = np.floor(base[:, None] * drift * sale_cut[None, :] / 100) + 0.99
        listed = catalog.listed[skus][:, mondays]
        sku_i, week_i = np.nonzero(listed)
        note = np.where(out_of_stock[sku_i, week_i], "out of stock",
                        np.where(sale[week_i], "on sale", None))
        frames.append(pd.DataFrame({
            "observed_date": days[mondays][week_i], "competitor": name,
            "sku": catalog.products["sku"].to_numpy()[skus][sku_i],
            "price": price[sku_i, week_i], "note": note,
        }))
    return pd.concat(frames, ignore_index=True)
