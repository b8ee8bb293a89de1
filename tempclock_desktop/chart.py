"""A small painted chart of requests per minute with errors on top (no QtCharts needed)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from tempclock.api.services.log_stats import MinuteCount
from tempclock_desktop.messages import plain_tip

REQUESTS = QColor("#14b8a6")
ERRORS = QColor("#dc2626")
GRID = QColor("#e2e8f0")
TEXT = QColor("#64748b")


def buckets(counts: list[MinuteCount], start: dt.datetime, minutes: int,
            columns: int) -> list[tuple[int, int]]:
    """Fold per-minute counts into `columns` equal slices: (requests, errors) per slice,
    the busiest minute of each slice, so a short spike stays visible (Qt-free)."""
    width = minutes / columns
    folded = [(0, 0)] * columns
    for count in counts:
        offset = (count.minute - start).total_seconds() / 60
        if 0 <= offset < minutes:
            n = min(columns - 1, int(offset / width))
            folded[n] = (max(folded[n][0], count.requests), max(folded[n][1], count.errors))
    return folded


class RequestChart(QWidget):
    """Requests per minute over a period (teal) and errors per minute (red)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts: list[MinuteCount] = []
        self.start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)
        self.minutes = 24 * 60
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(130)

    def set_counts(self, counts: list[MinuteCount], start: dt.datetime, minutes: int) -> None:
        self.counts, self.start, self.minutes = counts, start, minutes
        total = sum(c.requests for c in counts)
        errors = sum(c.errors for c in counts)
        self.setToolTip(f"{total} requests, {errors} errors in the last {minutes // 60} hours")
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPointSizeF(8)
        painter.setFont(font)
        left, top, bottom = 34, 8, 20
        area = QRectF(left, top, self.width() - left - 6, self.height() - top - bottom)
        columns = max(10, int(area.width() // 3))
        folded = buckets(self.counts, self.start, self.minutes, columns)
        peak = max([r for r, _e in folded] + [1])
        painter.setPen(QPen(GRID, 1))
        for fraction in (0, 0.5, 1):
            y = area.bottom() - fraction * area.height()
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
        painter.setPen(TEXT)
        painter.drawText(QRectF(0, area.top() - 6, left - 6, 12),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(peak))
        painter.drawText(QRectF(0, area.bottom() - 6, left - 6, 12),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "0")
        step = area.width() / columns
        for series, colour, fill in ((0, REQUESTS, 70), (1, ERRORS, 110)):
            path = QPainterPath(QPointF(area.left(), area.bottom()))
            for n, pair in enumerate(folded):
                y = area.bottom() - pair[series] / peak * area.height()
                path.lineTo(QPointF(area.left() + n * step, y))
                path.lineTo(QPointF(area.left() + (n + 1) * step, y))
            path.lineTo(QPointF(area.right(), area.bottom()))
            shade = QColor(colour)
            shade.setAlpha(fill)
            painter.fillPath(path, shade)
            painter.setPen(QPen(colour, 1.2))
            painter.drawPath(path)
        painter.setPen(TEXT)
        hours = self.minutes // 60
        for mark in range(0, hours + 1, max(1, hours // 6)):
            x = area.left() + area.width() * mark / hours
            moment = (self.start + dt.timedelta(hours=mark)).astimezone()
            box = QRectF(min(x - 30, area.right() - 60), area.bottom() + 3, 60, 14)
            align = (Qt.AlignmentFlag.AlignRight if x + 30 > area.right()
                     else Qt.AlignmentFlag.AlignHCenter)
            painter.drawText(box, align, f"{moment:%H:%M}")
        if not self.counts:
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "No requests in this period")
        painter.end()


class KeyErrorsChart(QWidget):
    """One bar per key: its requests (teal) with its errors (red) over them, busiest first."""

    ROW = 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, int, int]] = []  # name, requests, errors
        self.setMinimumHeight(self.ROW * 4)

    def set_rows(self, rows: list[tuple[str, int, int]]) -> None:
        self.rows = rows[:5]
        self.setToolTip(plain_tip("\n".join(f"{name}: {n} requests, {e} errors"
                                            for name, n, e in rows)))
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPointSizeF(8.5)
        painter.setFont(font)
        if not self.rows:
            painter.setPen(TEXT)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No requests")
            painter.end()
            return
        label_width, number_width = 170, 96  # a key reads as in the list: name · prefix…
        bar_left = label_width + 8
        bar_width = max(20, self.width() - bar_left - number_width - 8)
        peak = max(n for _name, n, _e in self.rows) or 1
        for n, (name, requests, errors) in enumerate(self.rows):
            top = n * self.ROW + 3
            painter.setPen(QColor("#1e293b"))
            elided = painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight,
                                                      label_width)
            painter.drawText(QRectF(0, top, label_width, self.ROW - 6),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, elided)
            whole = QRectF(bar_left, top + 3, bar_width, self.ROW - 12)
            painter.fillRect(whole, QColor("#f1f5f9"))
            used = QRectF(whole.left(), whole.top(), bar_width * requests / peak, whole.height())
            painter.fillRect(used, REQUESTS)
            failed = QRectF(whole.left(), whole.top(), bar_width * errors / peak, whole.height())
            painter.fillRect(failed, ERRORS)
            painter.setPen(ERRORS if errors else TEXT)
            painter.drawText(QRectF(bar_left + bar_width + 8, top, number_width, self.ROW - 6),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             f"{errors} err / {requests}")
        painter.end()
