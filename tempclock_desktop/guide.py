"""The getting-started guide: a page of the main window that walks an office admin from an
empty data directory to an integration's first answered request.

Name the agency → add sites and workers → decide whether integrations may connect →
issue the first key → make the first request (the `curl`, and a Test request button
that sends it to this computer's API). Each step shows as done when the admin has
already done it, here or elsewhere; the guide can be skipped and opened again from
Server & settings. It is built the first time it is shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from tempclock.api.services import accounts
from tempclock_desktop import session as kinds
from tempclock_desktop import theme
from tempclock_desktop.first_run import (
    GuideProgress,
    TestAnswer,
    first_request_curl,
    guide_progress,
    send_first_request,
)
from tempclock_desktop.messages import show_error
from tempclock_desktop.operations import Operation
from tempclock_desktop.panels.api_keys import open_issue_key
from tempclock_desktop.panels.base import Panel, load_demo_data
from tempclock_desktop.server import RUNNING, EmbeddedServer, url_for
from tempclock_desktop.widgets import Card, button, label

STEPS = (
    ("name", "Name your agency"),
    ("people", "Add sites and workers"),
    ("access", "Let integrations connect"),
    ("key", "Issue the first key"),
    ("request", "Make the first request"),
)

STEP_STYLE = ("QPushButton { text-align: left; padding: 8px 10px; }"
              "QPushButton:checked { background: #e6f4f1; border: 1px solid #0f766e;"
              " color: #0f172a; font-weight: 600; }")

# What a refused test request means, in words (the status itself is under "Details").
REFUSALS = {
    401: "The key was not recognised. Check that all of it was pasted, or issue a new one.",
    403: "Refused: API access is off for this account (step 3), or the key may not read "
         "workers.",
    429: "Too many requests in a minute with this key. Wait a moment and test again.",
}


class GuidePage(Panel):
    """Five steps from an empty TempClock to an integration's first answered request."""

    title = "Getting started"
    subtitle = ("Five short steps to get your agency running. Skip any of them: what you "
                "do elsewhere in TempClock counts too.")
    icon_name = "play"
    depends_on = (kinds.ACCOUNTS, kinds.LOCATIONS, kinds.WORKERS, kinds.KEYS)

    closed = Signal(bool)  # the admin left the guide: True when finished, False when skipped

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        self.server: EmbeddedServer | None = None
        self.progress: GuideProgress | None = None
        self.tested = False  # a test request was answered with the workers
        self.skip_button = button("Skip the guide", on_click=lambda: self.closed.emit(False),
                                  tip="Open it again any time from Server & settings")
        self.header_actions.addWidget(self.skip_button)
        row = QHBoxLayout()
        row.setSpacing(16)
        row.addWidget(self._step_list())
        self.pages = QStackedWidget()
        for step, build in zip(STEPS, (self._name_step, self._people_step, self._access_step,
                                       self._key_step, self._request_step), strict=True):
            self.pages.addWidget(self._page(step[1], build()))
        row.addWidget(self.pages, 1)
        self.content.addLayout(row, 1)
        self.content.addLayout(self._navigation())
        self.go_to(0)

    # --- the frame: steps on the left, Back / Next below ---------------------------------

    def _step_list(self) -> QWidget:
        box = Card()
        box.setFixedWidth(270)
        self.step_buttons: list[QPushButton] = []
        for n, (_key, caption) in enumerate(STEPS):
            step = button(f"{n + 1}. {caption}", on_click=lambda n=n: self.go_to(n))
            step.setCheckable(True)
            step.setStyleSheet(STEP_STYLE)
            box.body.addWidget(step)
            self.step_buttons.append(step)
        box.body.addStretch(1)
        return box

    def _page(self, heading: str, body: QWidget) -> QWidget:
        card = Card(margins=22)
        card.body.setSpacing(12)
        card.body.addWidget(label(heading, "SectionTitle"))
        card.body.addWidget(body)
        card.body.addStretch(1)
        return card

    def _navigation(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.back_button = button("Back", "chevron_left",
                                  on_click=lambda: self.go_to(self.pages.currentIndex() - 1))
        self.next_button = button("Next", "chevron_right", role="primary",
                                  on_click=self._next)
        row.addWidget(self.back_button)
        row.addStretch(1)
        row.addWidget(self.next_button)
        return row

    def go_to(self, index: int) -> None:
        """Show step `index` (0-based)."""
        index = max(0, min(index, len(STEPS) - 1))
        self.pages.setCurrentIndex(index)
        for n, step in enumerate(self.step_buttons):
            step.setChecked(n == index)
        self.back_button.setEnabled(index > 0)
        last = index == len(STEPS) - 1
        self.next_button.setText("Finish" if last else "Next")

    def go_to_step(self, key: str) -> None:
        """Show the step called `key` ("name", "people", "access", "key", "request")."""
        self.go_to([step for step, _caption in STEPS].index(key))

    def _next(self) -> None:
        if self.pages.currentIndex() == len(STEPS) - 1:
            self.closed.emit(True)
        else:
            self.go_to(self.pages.currentIndex() + 1)

    # --- step 1: the agency's name --------------------------------------------------------

    def _name_step(self) -> QWidget:
        page, column = _column()
        column.addWidget(label("The name your staff see at the top of TempClock, and the "
                               "account your integrations' keys belong to.", "Muted",
                               wrap=True))
        row = QHBoxLayout()
        self.agency_name = QLineEdit()
        self.agency_name.setPlaceholderText("Your agency's name, e.g. Northern Temps Ltd")
        self.agency_name.setMaxLength(200)
        self.agency_name.returnPressed.connect(self.save_name)
        row.addWidget(self.agency_name, 1)
        self.save_name_button = button("Save name", role="primary", on_click=self.save_name)
        row.addWidget(self.save_name_button)
        column.addLayout(row)
        self.name_state = label("", "Muted", wrap=True)
        column.addWidget(self.name_state)
        return page

    def save_name(self) -> None:
        """Rename the account to what the admin typed."""
        name = self.agency_name.text().strip()
        account = self.session.account
        if not name or account is None:
            self.name_state.setText("Type your agency's name first.")
            return

        def renamed(account: accounts.Account) -> None:
            self.session.set_accounts([account if a.id == account.id else a
                                       for a in self.session.accounts])
            self.session.notify(kinds.ACCOUNTS)

        Operation(self, lambda: accounts.rename_account(account.id, name),
                  success=renamed).run()

    # --- step 2: sites and workers ---------------------------------------------------------

    def _people_step(self) -> QWidget:
        page, column = _column()
        column.addWidget(label("Sites are the client workplaces where your temps clock in; "
                               "workers are the temps you place. Choose one way to start:",
                               "Muted", wrap=True))
        choices = QHBoxLayout()
        choices.setSpacing(12)
        choices.addWidget(_choice(
            "Import from your ATS",
            "Read the workers and their sites from a CSV file exported from your "
            "applicant tracking system.",
            [button("Import a CSV file…", "connectors", role="primary",
                    on_click=lambda: self.open_requested.emit("connectors/ats-csv"))]))
        choices.addWidget(_choice(
            "Add them by hand",
            "Type in a site, then the workers who go there. Good for a handful of people.",
            [button("Add site…", "locations",
                    on_click=lambda: self.open_requested.emit("locations/add")),
             button("Add worker…", "workers",
                    on_click=lambda: self.open_requested.emit("workers/add"))]))
        choices.addWidget(_choice(
            "Try it with demo data",
            "A made-up agency with seven sites, 72 workers and two weeks of shifts, to "
            "explore first. Best in an account you will not use for real work.",
            [button("Load demo data", "demo",
                    on_click=lambda: load_demo_data(self, self.session))]))
        column.addLayout(choices)
        self.people_state = label("", "Muted", wrap=True)
        column.addWidget(self.people_state)
        return page

    # --- step 3: API access -----------------------------------------------------------------

    def _access_step(self) -> QWidget:
        page, column = _column()
        column.addWidget(label(
            "Your ATS, CRM or payroll software can read and update TempClock over the "
            "network, through its API, each with a key you give it. While API access is "
            "off, every integration is refused, even one holding a valid key. Turn it on "
            "when an integration is ready to connect; you can turn it off again at any "
            "time in API keys.", wrap=True))
        row = QHBoxLayout()
        self.access_button = button("Turn on API access", role="primary",
                                    on_click=lambda: self._set_access(True))
        row.addWidget(self.access_button)
        row.addStretch(1)
        column.addLayout(row)
        self.access_state = label("", "Muted", wrap=True)
        column.addWidget(self.access_state)
        return page

    def _set_access(self, on: bool) -> None:
        account_id = self.session.account_id
        self.access_button.setEnabled(False)

        def failed(error: BaseException) -> None:
            self.access_button.setEnabled(True)
            show_error(self, error)

        Operation(self, lambda: accounts.set_api_enabled(account_id, on),
                  success=self.session.update_account, failure=failed).run()

    # --- step 4: the first key --------------------------------------------------------------

    def _key_step(self) -> QWidget:
        page, column = _column()
        column.addWidget(label(
            "Each integration gets its own key, like a password it shows with every "
            "request. TempClock shows a key once, when it is issued: copy it into the "
            "integration's settings then.", "Muted", wrap=True))
        row = QHBoxLayout()
        self.issue_button = button("Issue key…", "add", role="primary", on_click=self.issue)
        row.addWidget(self.issue_button)
        row.addStretch(1)
        column.addLayout(row)
        self.key_state = label("", "Muted", wrap=True)
        column.addWidget(self.key_state)
        return page

    def issue(self) -> None:
        """The usual issue-key dialog and one-time reveal; the key fills the first request."""
        open_issue_key(self, self.session, self._issued)

    def _issued(self, issued) -> None:
        self.key_field.setText(issued.plaintext)  # only in memory, for the first request
        self.refresh()

    # --- step 5: the first request ------------------------------------------------------------

    def _request_step(self) -> QWidget:
        page, column = _column()
        column.addWidget(label("This is what an integration sends to read your workers. "
                               "Give it to whoever sets up your ATS, or try it here.",
                               "Muted", wrap=True))
        key_row = QHBoxLayout()
        key_row.addWidget(label("Key"))
        self.key_field = QLineEdit()
        self.key_field.setPlaceholderText("Paste a key here (tc_live_…) to test with it")
        self.key_field.textChanged.connect(lambda _text: self._show_request())
        key_row.addWidget(self.key_field, 1)
        column.addLayout(key_row)
        self.curl = QPlainTextEdit()
        self.curl.setObjectName("KeyText")
        self.curl.setReadOnly(True)
        self.curl.setFixedHeight(64)
        column.addWidget(self.curl)
        row = QHBoxLayout()
        self.copy_curl_button = button("Copy", "copy", on_click=self._copy_curl)
        self.test_button = button("Test request", "send", role="primary",
                                  on_click=self.test_request)
        row.addWidget(self.copy_curl_button)
        row.addWidget(self.test_button)
        self.request_state = label("", "Muted", wrap=True)
        row.addWidget(self.request_state, 1)
        column.addLayout(row)
        column.addWidget(self._answer_box())
        return page

    def _answer_box(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.answer_headline = label("", "SectionTitle", wrap=True)
        column.addWidget(self.answer_headline)
        self.details_button = button("Show the answer", on_click=self._toggle_details)
        self.details_button.setCheckable(True)
        row = QHBoxLayout()
        row.addWidget(self.details_button)
        row.addStretch(1)
        column.addLayout(row)
        self.answer_status = label("", "Muted")
        column.addWidget(self.answer_status)
        self.answer_body = QPlainTextEdit()
        self.answer_body.setObjectName("KeyText")
        self.answer_body.setReadOnly(True)
        self.answer_body.setMinimumHeight(180)
        column.addWidget(self.answer_body, 1)
        self.answer_box = box
        box.hide()
        return box

    def _toggle_details(self) -> None:
        shown = self.details_button.isChecked()
        self.details_button.setText("Hide the answer" if shown else "Show the answer")
        self.answer_status.setVisible(shown)
        self.answer_body.setVisible(shown)

    def test_request(self) -> None:
        """Send the first request to this computer's API, off the GUI thread."""
        if self.server is None or self.server.state != RUNNING:
            return
        base, key = self.server.api_url, self.key_field.text().strip()
        self.test_button.setEnabled(False)
        self.request_state.setText("Sending…")
        Operation(self, lambda: send_first_request(base, key), success=self._answered,
                  failure=self._not_answered).run()

    def _answered(self, answer: TestAnswer) -> None:
        self.test_button.setEnabled(True)
        self.request_state.setText("")
        self.tested = self.tested or answer.ok
        if answer.ok:
            headline = "It works: the API answered with your workers."
        else:
            headline = REFUSALS.get(answer.status, "The API refused the request; the "
                                                   "details say why.")
        self._show_answer(headline, f"Status: {answer.status} {answer.reason}", answer.body,
                          expanded=answer.ok)
        if self.progress is not None:
            self.show_progress(self.progress)

    def _not_answered(self, error: BaseException) -> None:
        self.test_button.setEnabled(True)
        self.request_state.setText("")
        self._show_answer("No answer from the API. Check that it is running in Server & "
                          "settings.", "No answer", str(error), expanded=False)

    def _show_answer(self, headline: str, status: str, body: str, *, expanded: bool) -> None:
        self.answer_headline.setText(headline)
        self.answer_status.setText(status)
        self.answer_body.setPlainText(body)
        self.details_button.setChecked(expanded)
        self._toggle_details()
        self.answer_box.show()

    def _copy_curl(self) -> None:
        QGuiApplication.clipboard().setText(self.curl.toPlainText())

    def _show_request(self) -> None:
        server = self.server
        running = server is not None and server.state == RUNNING
        key = self.key_field.text().strip()
        settings = self.session.settings
        base = (server.api_url if running else
                f"{url_for(settings.host, settings.port, bool(settings.tls_files[0]))}/api/v1/")
        self.curl.setPlainText(first_request_curl(base, key or None))
        self.test_button.setEnabled(running and bool(key))
        self.request_state.setText(
            "" if running and key else
            "The API is not running: start it in Server & settings." if not running else
            "Issue a key in step 4, or paste one, to test.")

    # --- keeping up with what the admin did ----------------------------------------------------

    def attach(self, server: EmbeddedServer) -> None:
        """The API the first request goes to."""
        self.server = server
        server.state_changed.connect(lambda _state: self._show_request())
        self._show_request()

    def reload(self) -> None:
        account_id = self.session.account_id
        Operation(self, lambda: guide_progress(account_id), success=self.show_progress).run()

    def show_progress(self, progress: GuideProgress) -> None:
        """Mark the steps already done and say where each one stands."""
        switched = self.progress is None or self.progress.account.id != progress.account.id
        self.progress = progress
        name = progress.account.name
        if switched or (progress.named and not self.agency_name.text().strip()):
            self.agency_name.setText(name if progress.named else "")
        self.name_state.setText(f"Done: your agency is called “{name}”." if progress.named
                                else "TempClock calls it “My agency” until you name it.")
        self.people_state.setText(
            f"Done: {_count(progress.sites, 'site')} and {_count(progress.workers, 'worker')}."
            if progress.has_people else
            f"So far: {_count(progress.sites, 'site')} and "
            f"{_count(progress.workers, 'worker')}.")
        self.access_button.setEnabled(not progress.api_on)
        self.access_button.setText("API access is on" if progress.api_on
                                   else "Turn on API access")
        self.access_state.setText(
            f"Done: integrations with a key may connect to {name}." if progress.api_on else
            "Not yet: you can also leave it off for now and turn it on later.")
        self.key_state.setText(
            f"Done: {_count(progress.active_keys, 'active key')}. Issue another for each "
            "integration." if progress.has_key else
            "No key yet." + ("" if progress.api_on else " A key issued now is refused "
                             "until API access is on (step 3)."))
        done = (progress.named, progress.has_people, progress.api_on, progress.has_key,
                self.tested)
        for step, finished in zip(self.step_buttons, done, strict=True):
            step.setIcon(theme.icon("check", theme.ACCENT) if finished else theme.icon(
                "chevron_right", "#94a3b8"))



def _column() -> tuple[QWidget, QVBoxLayout]:
    page = QWidget()
    column = QVBoxLayout(page)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(12)
    return page, column


def _choice(title: str, text: str, actions: list[QPushButton]) -> QWidget:
    card = Card()
    card.setObjectName("Card")
    card.body.addWidget(label(title, "SectionTitle"))
    about = label(text, "Muted", wrap=True)
    about.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    about.setMinimumHeight(60)
    card.body.addWidget(about, 1)
    for action in actions:
        card.body.addWidget(action)
    return card


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"

