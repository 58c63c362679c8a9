"""What was known about an invoice's customer on a given date, as numpy columns and in words.

Only invoices *settled strictly before* the as-of date count, and for late shares by due date
the invoices *due* strictly before it (whether one was paid by its due date is known the day
after), so the same code serves training (each invoice seen as of its own issue date), scoring
(as of today) and the backtest without looking ahead. Everything is vectorised: per-customer
running sums give counts, means and shares in one ``searchsorted``; a window of each customer's
last ``WINDOW`` payments gives the median, the spread, the time-decayed mean and the usual amount.

Thin histories are shrunk toward the book-wide figures of the same date, as if every customer
had also paid ``PSEUDO_COUNT`` average invoices; a customer with no history gets the book-wide
figures outright (and NaN where there is nothing to say, which the trees treat as "unknown").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import NDArray

from arbridge.insight.history import PaymentRecord

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

WINDOW = 24
PSEUDO_COUNT = 3.0
DECAY_DAYS = 120.0
# The window of the drift-aware late shares.
RECENT_DAYS = 90
QUARTER_END_DAYS = 10
LATE_30 = 30
# Book-wide figures assumed until the first invoice is paid: about a week late on average, half
# of invoices late. One settled invoice replaces them.
DEFAULT_PRIOR_LATE = 8.0
DEFAULT_PRIOR_SIGNED = 4.0
DEFAULT_PRIOR_SHARE_LATE = 0.5
DEFAULT_PRIOR_SHARE_30 = 0.1
# A customer "pays on Thursdays" when at least this many of its recent payments, and this share
# of them, fell on one weekday (a uniform spread puts about 1/7 on each).
PAY_DAY_MIN_COUNT = 5
PAY_DAY_MIN_SHARE = 0.5
# Attributes with more distinct values than this look like identifiers, not categories.
MAX_CATEGORIES = 50
_SPAN = 1 << 24  # days per customer block in the sort key; > 45,000 years


@dataclass(frozen=True, slots=True)
class Invoices:
    """Invoices as columns; dates are ``date.toordinal()`` integers."""

    invoice_ids: list[str]
    customer_ids: list[str]
    issue: IntArray
    due: IntArray
    amount: FloatArray
    currencies: list[str]
    attributes: list[Mapping[str, str]]
    records: Sequence[PaymentRecord]

    @classmethod
    def of(cls, records: Sequence[PaymentRecord]) -> Invoices:
        return cls(
            records=records,
            invoice_ids=[r.invoice_id for r in records],
            customer_ids=[r.customer_id for r in records],
            issue=np.fromiter((r.issue_date.toordinal() for r in records), np.int64, len(records)),
            due=np.fromiter((r.due_date.toordinal() for r in records), np.int64, len(records)),
            amount=np.fromiter((float(r.amount) for r in records), np.float64, len(records)),
            currencies=[r.currency for r in records],
            attributes=[r.attributes for r in records],
        )

    def __len__(self) -> int:
        return len(self.invoice_ids)


@dataclass(frozen=True, slots=True)
class CustomerStats:
    """One row per query: the customer's record as of that row's date (see module docstring)."""

    n: FloatArray
    n_late: FloatArray
    n_late_30: FloatArray
    mean_late: FloatArray  # raw, NaN when n == 0
    mean_late_shrunk: FloatArray
    mean_signed_shrunk: FloatArray
    share_late_shrunk: FloatArray
    share_30_shrunk: FloatArray
    disputed_shrunk: FloatArray  # share of settled invoices that had been disputed
    median_late: FloatArray  # over the last WINDOW payments
    median_signed: FloatArray
    std_late: FloatArray
    decayed_late_shrunk: FloatArray
    last_late: FloatArray
    days_since_paid: FloatArray
    usual_amount: FloatArray  # median of the last WINDOW amounts
    pay_weekday: FloatArray  # 0 = Monday; NaN unless the customer clearly pays on one day
    prior_late: FloatArray  # the book-wide figures of the same date
    prior_signed: FloatArray
    prior_share_late: FloatArray


GroupKey = Callable[[PaymentRecord], str]


def by_customer(record: PaymentRecord) -> str:
    return record.customer_id


def by_customer_and(attribute: str) -> GroupKey:
    """Groups a customer's invoices by one attribute's value (its invoices by post, say)."""

    def key(record: PaymentRecord) -> str:
        return f"{record.customer_id}\x1f{record.attributes.get(attribute, '')}"

    return key


class PaymentIndex:
    """Settled invoices sorted by group then paid date, with running sums for fast look-ups.

    A group is a customer unless ``group`` says otherwise.
    """

    def __init__(self, records: Iterable[PaymentRecord], group: GroupKey = by_customer) -> None:
        settled = [r for r in records if r.paid_date is not None]
        self.group = group
        self.codes: dict[str, int] = {}
        keys = [group(r) for r in settled]
        for key in keys:
            self.codes.setdefault(key, len(self.codes))
        n = len(settled)
        code = np.fromiter((self.codes[key] for key in keys), np.int64, n)
        paid = np.fromiter((_ordinal(r.paid_date) for r in settled), np.int64, n)
        due = np.fromiter((r.due_date.toordinal() for r in settled), np.int64, n)
        amount = np.fromiter((float(r.amount) for r in settled), np.float64, n)
        disputed = np.fromiter((float(r.disputed) for r in settled), np.float64, n)
        self.base = int(paid.min()) if n else 0
        order = np.lexsort((paid, code))
        self.code, self.paid, self.amount = code[order], paid[order], amount[order]
        self.paid_days = self.paid.astype(np.float64)
        self.signed = (paid - due)[order].astype(np.float64)
        self.late = np.maximum(self.signed, 0.0)
        self.keys = self.code * _SPAN + (self.paid - self.base)
        self.start = np.searchsorted(self.code, np.arange(len(self.codes)), "left")
        self._cum = {
            "late": _cumsum(self.late),
            "signed": _cumsum(self.signed),
            "is_late": _cumsum((self.late > 0).astype(np.float64)),
            "is_30": _cumsum((self.late > LATE_30).astype(np.float64)),
            "disputed": _cumsum(disputed[order]),
        }
        by_paid = np.argsort(self.paid, kind="stable")
        self._global_paid = self.paid[by_paid]
        self._global = {
            "late": _cumsum(self.late[by_paid]),
            "signed": _cumsum(self.signed[by_paid]),
            "is_late": _cumsum((self.late[by_paid] > 0).astype(np.float64)),
            "is_30": _cumsum((self.late[by_paid] > LATE_30).astype(np.float64)),
            "disputed": _cumsum(disputed[order][by_paid]),
        }

    def __len__(self) -> int:
        return int(self.paid.size)

    def positions(self, customer_ids: Sequence[str], as_of: IntArray) -> tuple[IntArray, IntArray]:
        """Per query, the slice ``[start, stop)`` of the customer's payments before ``as_of``."""
        codes = np.fromiter(
            (self.codes.get(c, -1) for c in customer_ids), np.int64, len(customer_ids)
        )
        known = codes >= 0
        offset = np.clip(as_of - self.base, -1, _SPAN - 2)
        stop = np.searchsorted(self.keys, np.where(known, codes, 0) * _SPAN + offset, "left")
        start = self.start[np.where(known, codes, 0)] if self.start.size else np.zeros_like(codes)
        stop = np.where(known, stop, 0)
        start = np.where(known, start, 0)
        return start.astype(np.int64), np.maximum(stop, start).astype(np.int64)

    def book(self, as_of: IntArray) -> dict[str, FloatArray]:
        """Book-wide count and sums of everything paid before each ``as_of``."""
        stop = np.searchsorted(self._global_paid, as_of, "left")
        sums = {name: cum[stop] for name, cum in self._global.items()}
        sums["n"] = stop.astype(np.float64)
        return sums

    def late_sums(self, groups: Sequence[str], as_of: IntArray) -> tuple[FloatArray, FloatArray]:
        """Per query, how many of the group's invoices were paid before ``as_of``, and their
        total days late."""
        start, stop = self.positions(groups, as_of)
        cum = self._cum["late"]
        return (stop - start).astype(np.float64), cum[stop] - cum[start]

    def stats(self, customer_ids: Sequence[str], as_of: IntArray) -> CustomerStats:
        start, stop = self.positions(customer_ids, as_of)
        n = (stop - start).astype(np.float64)
        sums = {name: cum[stop] - cum[start] for name, cum in self._cum.items()}
        book = self.book(as_of)
        has_book = book["n"] > 0
        book_n = np.maximum(book["n"], 1.0)
        prior_late = np.where(has_book, book["late"] / book_n, DEFAULT_PRIOR_LATE)
        prior_signed = np.where(has_book, book["signed"] / book_n, DEFAULT_PRIOR_SIGNED)
        prior_share = np.where(has_book, book["is_late"] / book_n, DEFAULT_PRIOR_SHARE_LATE)
        prior_30 = np.where(has_book, book["is_30"] / book_n, DEFAULT_PRIOR_SHARE_30)
        prior_disputed = np.where(has_book, book["disputed"] / book_n, 0.0)

        def shrink(total: FloatArray, prior: FloatArray) -> FloatArray:
            return (total + PSEUDO_COUNT * prior) / (n + PSEUDO_COUNT)

        window = self._window(start, stop)
        late_w = self._take(self.late, window.index, window.valid)
        signed_w = self._take(self.signed, window.index, window.valid)
        amount_w = self._take(self.amount, window.index, window.valid)
        age = as_of[:, None] - self._take(self.paid_days, window.index, window.valid)
        weight = np.where(window.valid, np.exp(-np.nan_to_num(age) / DECAY_DAYS), 0.0)
        # The decayed mean is shrunk like the others, the prior weighing as PSEUDO_COUNT fresh ones.
        decayed = (np.nansum(late_w * weight, axis=1) + PSEUDO_COUNT * prior_late) / (
            weight.sum(axis=1) + PSEUDO_COUNT
        )
        any_w = window.count > 0
        last_index = np.maximum(stop - 1, 0)
        last = self._take(self.late, last_index, any_w)
        last_paid = self._take(self.paid_days, last_index, any_w)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_late = np.where(n > 0, sums["late"] / np.maximum(n, 1.0), np.nan)
            return CustomerStats(
                n=n,
                n_late=sums["is_late"],
                n_late_30=sums["is_30"],
                mean_late=mean_late,
                mean_late_shrunk=shrink(sums["late"], prior_late),
                mean_signed_shrunk=shrink(sums["signed"], prior_signed),
                share_late_shrunk=shrink(sums["is_late"], prior_share),
                share_30_shrunk=shrink(sums["is_30"], prior_30),
                disputed_shrunk=shrink(sums["disputed"], prior_disputed),
                median_late=_nanmedian(late_w, any_w),
                median_signed=_nanmedian(signed_w, any_w),
                std_late=np.where(window.count >= 2, _nanstd(late_w, window.count), np.nan),
                decayed_late_shrunk=decayed,
                last_late=last,
                days_since_paid=as_of - last_paid,
                usual_amount=_nanmedian(amount_w, any_w),
                prior_late=prior_late,
                prior_signed=prior_signed,
                pay_weekday=self._pay_weekday(window),
                prior_share_late=prior_share,
            )

    def _pay_weekday(self, window: _Window) -> FloatArray:
        if not len(self):
            return np.full(window.count.shape, np.nan)
        weekday = (self.paid[window.index] - 1) % 7  # ordinal 1 was a Monday
        counts = ((weekday[:, :, None] == np.arange(7)) & window.valid[:, :, None]).sum(axis=1)
        best = counts.argmax(axis=1)
        top = counts.max(axis=1)
        clear = (top >= PAY_DAY_MIN_COUNT) & (top >= PAY_DAY_MIN_SHARE * window.count)
        return np.where(clear, best.astype(np.float64), np.nan)

    def _take(self, values: FloatArray, index: IntArray, valid: NDArray[np.bool_]) -> FloatArray:
        if not len(self):
            return np.full(index.shape, np.nan)
        return np.where(valid, values[index], np.nan)

    def _window(self, start: IntArray, stop: IntArray) -> _Window:
        width = int(min(WINDOW, max(int((stop - start).max(initial=0)), 1)))
        index = stop[:, None] - 1 - np.arange(width)[None, :]
        valid = index >= start[:, None]
        return _Window(np.clip(index, 0, max(len(self) - 1, 0)), valid, valid.sum(axis=1))


class DueIndex:
    """Invoices by customer and due date, with whether each was paid by its due date.

    That is known the day after an invoice falls due, paid or not, so the late share of the
    invoices *due* in a window answers at once: no wait for the slow payers to settle, which is
    what lets the share follow a book that is drifting later.
    """

    def __init__(self, records: Iterable[PaymentRecord]) -> None:
        rows = list(records)
        self.codes: dict[str, int] = {}
        for r in rows:
            self.codes.setdefault(r.customer_id, len(self.codes))
        n = len(rows)
        code = np.fromiter((self.codes[r.customer_id] for r in rows), np.int64, n)
        due = np.fromiter((r.due_date.toordinal() for r in rows), np.int64, n)
        late = np.fromiter(
            (r.paid_date is None or r.paid_date > r.due_date for r in rows), np.float64, n
        )
        self.base = int(due.min()) if n else 0
        order = np.lexsort((due, code))
        self.keys = code[order] * _SPAN + (due[order] - self.base)
        self.late = _cumsum(late[order])
        by_due = np.argsort(due, kind="stable")
        self.due = due[by_due]
        self.book_late = _cumsum(late[by_due])

    def book(self, start: IntArray, stop: IntArray) -> tuple[FloatArray, FloatArray]:
        """Per query, invoices due in ``[start, stop)`` and how many of them were paid late."""
        low = np.searchsorted(self.due, start, "left")
        high = np.searchsorted(self.due, stop, "left")
        return (high - low).astype(np.float64), self.book_late[high] - self.book_late[low]

    def customers(
        self, customer_ids: Sequence[str], start: IntArray, stop: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """The same per query, for the query's customer only."""
        codes = np.fromiter(
            (self.codes.get(c, -1) for c in customer_ids), np.int64, len(customer_ids)
        )
        base = np.maximum(codes, 0) * _SPAN - self.base
        low = np.searchsorted(self.keys, base + np.clip(start, self.base, None), "left")
        high = np.searchsorted(self.keys, base + np.clip(stop, self.base, None), "left")
        count = np.where(codes >= 0, high - low, 0).astype(np.float64)
        late = np.where(codes >= 0, self.late[high] - self.late[low], 0.0)
        return count, late


class History:
    """All known invoices with their indexes: by customer, and by customer and attribute value.

    Build it once and share it: every look-up filters by its own as-of date.
    """

    def __init__(self, records: Iterable[PaymentRecord]) -> None:
        self.records = list(records)
        self.customers = PaymentIndex(self.records)
        self.due = DueIndex(self.records)
        self._by_attribute: dict[str, PaymentIndex] = {}

    def attribute(self, name: str) -> PaymentIndex:
        if name not in self._by_attribute:
            self._by_attribute[name] = PaymentIndex(self.records, by_customer_and(name))
        return self._by_attribute[name]


@dataclass(frozen=True, slots=True)
class _Window:
    index: IntArray
    valid: NDArray[np.bool_]
    count: IntArray


@dataclass(frozen=True)
class Encoding:
    """How categories become numbers; learned once at fit time and reused when scoring."""

    currencies: dict[str, int]
    currency_log_median: dict[str, float]
    attributes: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def learn(cls, records: Sequence[PaymentRecord]) -> Encoding:
        amounts: dict[str, list[float]] = {}
        values: dict[str, set[str]] = {}
        for r in records:
            amounts.setdefault(r.currency, []).append(float(r.amount))
            for key, value in r.attributes.items():
                values.setdefault(key, set()).add(value)
        currencies = {c: i for i, c in enumerate(sorted(amounts))}
        log_median = {c: float(np.log(max(np.median(a), 1e-9))) for c, a in amounts.items()}
        attributes = {
            key: {v: i for i, v in enumerate(sorted(vals))}
            for key, vals in sorted(values.items())
            if 1 < len(vals) <= MAX_CATEGORIES
        }
        return cls(currencies, log_median, attributes)

    @property
    def names(self) -> list[str]:
        same = [f"{kind}:{key}" for key in self.attributes for kind in ("same_mean", "same_diff")]
        return [
            *NUMERIC_FEATURES,
            *same,
            "currency",
            *(f"attr:{key}" for key in self.attributes),
        ]

    @property
    def categorical(self) -> list[bool]:
        return [name == "currency" or name.startswith("attr:") for name in self.names]


NUMERIC_FEATURES = (
    "n_paid",
    "mean_late",
    "mean_signed",
    "share_late",
    "share_late_30",
    "median_late",
    "median_signed",
    "std_late",
    "decayed_late",
    "last_late",
    "days_since_paid",
    "log_amount_vs_currency",
    "log_amount_vs_usual",
    "terms_days",
    "disputed_share",
    "due_late_share",
    "recent_late_share",
    "book_recent_late_share",
    "due_month",
    "due_quarter_end",
)


def features(
    history: History, invoices: Invoices, as_of: IntArray, encoding: Encoding
) -> tuple[FloatArray, CustomerStats]:
    """The model's inputs as of each row's date, and the customer statistics behind them.

    Columns follow ``encoding.names``; NaN means unknown.
    """
    stats = history.customers.stats(invoices.customer_ids, as_of)
    same: list[FloatArray] = []
    for key in encoding.attributes:
        index = history.attribute(key)
        n, total = index.late_sums([index.group(r) for r in invoices.records], as_of)
        # The customer's invoices with the same value (same channel, say), shrunk toward all
        # the customer's invoices: separates "this customer" from "this kind of invoice".
        mean = (total + PSEUDO_COUNT * stats.mean_late_shrunk) / (n + PSEUDO_COUNT)
        same += [mean, mean - stats.mean_late_shrunk]
    rates = due_rates(history, invoices, as_of)
    return feature_matrix(invoices, stats, same, rates, encoding), stats


def due_rates(history: History, invoices: Invoices, as_of: IntArray) -> list[FloatArray]:
    """Late shares by due date: the customer's ever and over ``RECENT_DAYS``, and the book's
    over ``RECENT_DAYS``; the customer's are shrunk toward the book's of the same window."""
    ever = np.zeros_like(as_of)
    recent = as_of - RECENT_DAYS
    book_n, book_late = history.due.book(recent, as_of)
    all_n, all_late = history.due.book(ever, as_of)
    book_recent = np.where(
        book_n > 0, book_late / np.maximum(book_n, 1.0), DEFAULT_PRIOR_SHARE_LATE
    )
    book_ever = np.where(all_n > 0, all_late / np.maximum(all_n, 1.0), DEFAULT_PRIOR_SHARE_LATE)
    own_n, own_late = history.due.customers(invoices.customer_ids, ever, as_of)
    new_n, new_late = history.due.customers(invoices.customer_ids, recent, as_of)
    due_share = (own_late + PSEUDO_COUNT * book_ever) / (own_n + PSEUDO_COUNT)
    recent_share = (new_late + PSEUDO_COUNT * book_recent) / (new_n + PSEUDO_COUNT)
    return [due_share, recent_share, book_recent]


def feature_matrix(
    invoices: Invoices,
    stats: CustomerStats,
    same: list[FloatArray],
    rates: list[FloatArray],
    encoding: Encoding,
) -> FloatArray:
    """The columns of ``features`` from already computed statistics."""
    log_amount = np.log(np.maximum(invoices.amount, 1e-9))
    currency_median = np.array(
        [encoding.currency_log_median.get(c, np.nan) for c in invoices.currencies]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        vs_usual = log_amount - np.log(stats.usual_amount)
    columns = [
        stats.n,
        stats.mean_late_shrunk,
        stats.mean_signed_shrunk,
        stats.share_late_shrunk,
        stats.share_30_shrunk,
        stats.median_late,
        stats.median_signed,
        stats.std_late,
        stats.decayed_late_shrunk,
        stats.last_late,
        stats.days_since_paid,
        log_amount - currency_median,
        vs_usual,
        (invoices.due - invoices.issue).astype(np.float64),
        stats.disputed_shrunk,
        *rates,
        *_season(invoices.due),
        *same,
        _codes(invoices.currencies, encoding.currencies),
    ]
    for key, vocabulary in encoding.attributes.items():
        columns.append(_codes([a.get(key, "") for a in invoices.attributes], vocabulary))
    return np.column_stack(columns).astype(np.float64)


def _season(due: IntArray) -> list[FloatArray]:
    """The due date's month, and whether it falls in a quarter's last ``QUARTER_END_DAYS``."""
    days = [date.fromordinal(int(d)) for d in due]
    month = np.array([d.month for d in days], dtype=np.float64)
    end = np.array(
        [d.month % 3 == 0 and d.day > 30 - QUARTER_END_DAYS for d in days], dtype=np.float64
    )
    return [month, end]


def _codes(values: Sequence[str], vocabulary: Mapping[str, int]) -> FloatArray:
    return np.array([vocabulary.get(v, np.nan) for v in values], dtype=np.float64)


def _cumsum(values: FloatArray) -> FloatArray:
    return np.concatenate(([0.0], np.cumsum(values)))


def _nanmedian(values: FloatArray, has_any: NDArray[np.bool_]) -> FloatArray:
    # NaNs sort last, so the median of the first ``count`` sorted values skips them.
    ordered = np.sort(values, axis=1)
    count = np.sum(~np.isnan(values), axis=1)
    low = np.clip((count - 1) // 2, 0, None)
    high = np.clip(count // 2, 0, None)
    rows = np.arange(values.shape[0])
    width = max(values.shape[1] - 1, 0)
    median = (ordered[rows, np.minimum(low, width)] + ordered[rows, np.minimum(high, width)]) / 2
    return np.where(has_any, median, np.nan)


def _nanstd(values: FloatArray, count: IntArray) -> FloatArray:
    safe = np.maximum(count, 1)
    mean = np.nansum(values, axis=1) / safe
    variance: FloatArray = np.nansum((values - mean[:, None]) ** 2, axis=1) / safe
    return np.sqrt(variance)


def _ordinal(day: date | None) -> int:
    assert day is not None
    return day.toordinal()


# An attribute value is worth mentioning when at least this many training invoices carry it
# and they are paid at least this many days later (or sooner) than the book's average.
MIN_EFFECT_COUNT = 30
MIN_EFFECT_DAYS = 3.0
MAX_REASONS = 3


@dataclass(frozen=True)
class AttributeEffects:
    """Days later (negative: sooner) than average that invoices with an attribute value pay."""

    days: dict[tuple[str, str], float]

    @classmethod
    def learn(cls, records: Sequence[PaymentRecord], encoding: Encoding) -> AttributeEffects:
        late = np.array([r.days_late or 0 for r in records], dtype=np.float64)
        if not late.size:
            return cls({})
        overall = float(late.mean())
        effects: dict[tuple[str, str], float] = {}
        for key in encoding.attributes:
            groups: dict[str, list[float]] = {}
            for record, days in zip(records, late, strict=True):
                groups.setdefault(record.attributes.get(key, ""), []).append(float(days))
            for value, values in groups.items():
                difference = float(np.mean(values)) - overall
                if value and len(values) >= MIN_EFFECT_COUNT and abs(difference) >= MIN_EFFECT_DAYS:
                    effects[(key, value)] = difference
        return cls(effects)


def explain(
    invoices: Invoices, stats: CustomerStats, as_of: IntArray, effects: AttributeEffects
) -> list[list[str]]:
    """Up to ``MAX_REASONS`` plain-words facts per invoice, the weightiest first.

    Each candidate fact carries a weight in roughly "days of lateness it stands for"; the facts
    are true statements about the history, not attributions of the model's arithmetic.
    """
    overdue = as_of - invoices.due
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = invoices.amount / stats.usual_amount
    result: list[list[str]] = []
    for i in range(len(invoices)):
        found: list[tuple[float, str]] = []
        n = int(stats.n[i])
        if overdue[i] >= 1:
            found.append((float(overdue[i]) + 10.0, f"already {_days(int(overdue[i]))} overdue"))
        if n == 0:
            found.append(
                (30.0, "new customer: no paid invoices yet, so the book's average applies")
            )
        else:
            found.extend(_history_facts(stats, i, n))
        if ratio[i] >= 2:
            found.append(
                (6.0 * float(np.log(ratio[i])), f"amount {_times(ratio[i])} this customer's usual")
            )
        for key, value in invoices.attributes[i].items():
            difference = effects.days.get((key, value))
            if difference is not None:
                direction = "later" if difference > 0 else "sooner"
                found.append(
                    (
                        abs(difference),
                        f"{key} {value}: such invoices are paid {_days(round(abs(difference)))} "
                        f"{direction} than average",
                    )
                )
        found.sort(key=lambda fact: -fact[0])
        result.append([text for _, text in found[:MAX_REASONS]])
    return result


def _history_facts(stats: CustomerStats, i: int, n: int) -> list[tuple[float, str]]:
    found: list[tuple[float, str]] = []
    invoices = "invoice" if n == 1 else "invoices"
    mean = float(stats.mean_late[i])
    if mean >= 1:
        found.append((mean, f"pays {_days(round(mean))} late on average over {n} {invoices}"))
    else:
        on_time = n - int(stats.n_late[i])
        found.append((2.0, f"paid {on_time} of {n} {invoices} on time"))
    late_30 = int(stats.n_late_30[i])
    if late_30:
        found.append(
            (40.0 * late_30 / n, f"{late_30} of {n} {invoices} paid more than 30 days late")
        )
    recent = float(stats.decayed_late_shrunk[i])
    if n >= 4 and recent - mean >= 5:
        found.append(
            (recent - mean, f"recent invoices paid later: {recent:.0f} days late vs {mean:.0f}")
        )
    elif n >= 4 and mean - recent >= 5:
        found.append(
            (
                (mean - recent) / 2,
                f"recent invoices paid sooner: {recent:.0f} days late vs {mean:.0f}",
            )
        )
    if n < 3:
        found.append((3.0, f"only {n} paid {invoices} so far"))
    return found


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _times(ratio: float) -> str:
    text = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}".removesuffix(".0")
    return f"{text}x"


def baseline(stats: CustomerStats) -> FloatArray:
    """The customer's recent median signed lateness, shrunk toward the book's mean.

    The regressors learn corrections to this number rather than lateness from scratch: trees
    find "post adds a week" far sooner as an offset than as a level for every customer.
    """
    median = np.nan_to_num(stats.median_signed)
    shrunk: FloatArray = (stats.n * median + PSEUDO_COUNT * stats.prior_signed) / (
        stats.n + PSEUDO_COUNT
    )
    return shrunk
