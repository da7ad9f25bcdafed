"""The overview's second-approver actions: Approve… and Reject… the selected run awaiting
approval, each with a note (a rejection needs one). Offered only to a user other than the one
who asked (identity.who().user, read once per window). Who acts, what the run does and the
decision are read and written off the GUI thread; the decision says what it did."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from appupdater.core import approvals
from appupdater.core.identity import who
from appupdater.core.run_review import RunReview, review_run
from appupdater.core.words import plural
from appupdater.store.fields import utcnow
from appupdater.store.models import Approval
from appupdater.ui.icons import icon
from appupdater.ui.overview.review_view import ReviewView
from appupdater.ui.timefmt import local_text

if TYPE_CHECKING:
    from appupdater.core.runs import Applied
    from appupdater.ui.overview.window import OverviewWindow


class DecisionDialog(QDialog):
    """Approve or reject one run, with a note; a rejection needs one. Above them, what the run
    does, device by device (ui/overview/review_view.py). For an approval, the devices whose
    scheduled time passed while the run waited, and whether to deploy them now."""

    def __init__(
        self,
        run_id: int,
        approving: bool,
        asked: str,
        late: list[tuple[str, datetime]],
        parent: QWidget | None = None,
        review: RunReview | None = None,
    ):
        super().__init__(parent)
        verb = "Approve" if approving else "Reject"
        self.setWindowTitle(f"{verb} Run #{run_id}")
        self.approving = approving
        intro = QLabel(
            f"{asked}<br><br>"
            + (
                "Approving applies its configuration now and starts its deployments."
                if approving
                else "A rejected run is never configured or deployed. Say why:"
            )
        )
        intro.setWordWrap(True)
        self.note = QPlainTextEdit()
        self.note.setAccessibleName("Note")
        self.note.setPlaceholderText(
            "Note (optional)" if approving else "Why it is rejected (required)"
        )
        self.note.setMaximumHeight(90)
        self.deploy_now = QCheckBox()
        self.deploy_now.setVisible(bool(late))
        if late:
            shown = ", ".join(f"{name} ({local_text(at)})" for name, at in late[:5])
            more = f" and {len(late) - 5} more" if len(late) > 5 else ""
            self.deploy_now.setText(
                f"Deploy now instead: the scheduled time has passed for "
                f"{plural(len(late), 'device')}: {shown}{more}"
            )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.addButton(f"&{verb}", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        self.review = ReviewView(review or RunReview(run_id))
        layout.addWidget(self.review, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.deploy_now)
        layout.addWidget(buttons)
        self.note.textChanged.connect(self._note_changed)
        self._note_changed()
        self.resize(860, 640)
        self.note.setFocus()

    def _note_changed(self) -> None:
        self.ok.setEnabled(self.approving or bool(self.note.toPlainText().strip()))


class ApprovalActions(QObject):
    """Approve… and Reject… on the toolbar of an overview."""

    def __init__(self, window: OverviewWindow, toolbar: QToolBar):
        super().__init__(window)
        # who acts, read off the GUI thread (a query on PostgreSQL); None until known, and
        # until then nobody is offered a decision
        self.user: str | None = None
        window.tasks.submit(lambda: who().user, self._known, lambda _error: None)
        self._reading = False  # what a decision is about is being read
        self.approve = self._action(
            "deploy-now",
            "Appro&ve…",
            self.approve_run,
            "Approve the selected run awaiting approval: its configuration is applied now",
        )
        self.reject = self._action(
            "op-removed",
            "Re&ject…",
            self.reject_run,
            "Reject the selected run awaiting approval, saying why",
        )
        # first on the toolbar: where a run awaits approval they are what matters, and the
        # deployment actions after them may overflow on a narrow screen
        first = toolbar.actions()[0] if toolbar.actions() else None
        toolbar.insertAction(first, self.approve)  # type: ignore[arg-type]
        toolbar.insertAction(first, self.reject)  # type: ignore[arg-type]
        self.separator = toolbar.insertSeparator(first)  # type: ignore[arg-type]
        self.banner = self._banner()
        self.update()

    def _banner(self) -> QFrame:
        """Above the (empty) deployments of a run awaiting approval: why there are none yet, who
        asked, until when, and the two decisions."""
        frame = QFrame()
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        frame.setAccessibleName("Approval")
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.banner_text.setTextFormat(Qt.TextFormat.RichText)
        layout = QHBoxLayout(frame)
        layout.setContentsMargins(8, 4, 8, 4)
        picture = QLabel()
        picture.setPixmap(icon("warning").pixmap(20, 20))
        layout.addWidget(picture)
        layout.addWidget(self.banner_text, 1)
        for act in (self.approve, self.reject):
            button = QToolButton()
            button.setDefaultAction(act)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            layout.addWidget(button)
        frame.hide()
        return frame

    @property
    def window(self) -> OverviewWindow:
        return cast("OverviewWindow", self.parent())

    def _action(self, name: str, text: str, slot: Callable[[], object], tip: str) -> QAction:
        act = QAction(icon(name), text, self.window)
        act.triggered.connect(slot)
        act.setStatusTip(tip)
        act.setToolTip(tip)
        return act

    def _awaiting(self) -> tuple[int, str] | None:
        """The selected run and who asked, when it awaits a decision this user may take."""
        run = self.window.selected_run()
        if run is None:
            return None
        standing = self.window.runs_model.standing_of(run.id)
        if standing is None or standing.aborted:
            return None
        shown = approvals.shown_approval(standing.approval, standing.expires_at, utcnow())
        if shown != Approval.AWAITING or self.user is None or standing.requested_by == self.user:
            return None
        return run.id, standing.requested_by or ""

    def _known(self, user: str) -> None:
        self.user = user
        self.update()

    def update(self) -> None:
        """Offered only for a run awaiting approval, to a user other than the one who asked."""
        allowed = self._awaiting() is not None
        # on the toolbar only while a listed run awaits a decision: a team without the policy
        # never sees them, and the run actions after them fit a narrow window
        now = utcnow()
        listed = self.window.runs_model.standings.values()
        any_awaiting = any(
            approvals.shown_approval(s.approval, s.expires_at, now) == Approval.AWAITING
            for s in listed
        )
        for act in (self.approve, self.reject, self.separator):
            act.setVisible(any_awaiting)
        self._show_banner()
        self.approve.setEnabled(allowed)
        self.reject.setEnabled(allowed)
        tip = "" if allowed else self._why_not()
        for act, base in (
            (self.approve, "Approve the selected run awaiting approval"),
            (self.reject, "Reject the selected run awaiting approval"),
        ):
            act.setToolTip(f"{base}{tip}")

    def _show_banner(self) -> None:
        run = self.window.selected_run()
        standing = self.window.runs_model.standing_of(run.id) if run else None
        now = utcnow()
        shown = approvals.shown_approval(
            standing.approval if standing else None, standing.expires_at if standing else None, now
        )
        if run is None or standing is None or shown != Approval.AWAITING:
            self.banner.hide()
            return
        asker = standing.requested_by or "?"
        if self.user is None:  # not known yet
            who_decides = "a user other than the one who asked approves or rejects it"
        elif asker == self.user:
            who_decides = "a second person must approve or reject it (not you)"
        else:
            who_decides = "approve or reject it here"
        self.banner_text.setText(
            f"<b>Run #{run.id} awaits approval</b>, asked by <b>{asker}</b> until "
            f"{local_text(standing.expires_at)}: nothing of it is configured or deployed until "
            f"then; {who_decides}."
        )
        self.banner.show()

    def _why_not(self) -> str:
        run = self.window.selected_run()
        standing = self.window.runs_model.standing_of(run.id) if run else None
        if standing is not None and standing.requested_by == self.user and standing.approval:
            return f" (you, {self.user}, asked for it: a second person decides)"
        return ""

    def approve_run(self) -> None:
        self._decide(approving=True)

    def reject_run(self) -> None:
        self._decide(approving=False)

    def _decide(self, approving: bool) -> None:
        chosen = self._awaiting()
        if chosen is None:
            return
        run_id, asked_by = chosen
        window = self.window
        now = utcnow()
        standing = window.runs_model.standing_of(run_id)
        until = local_text(standing.expires_at) if standing else ""
        asked = (
            f"Run #{run_id} was asked for by <b>{asked_by}</b>; it awaits a decision until {until}."
        )

        def read() -> tuple[RunReview, list[tuple[str, datetime]]]:
            return review_run(run_id), approvals.late(run_id, now) if approving else []

        def ask(found: tuple[RunReview, list[tuple[str, datetime]]]) -> None:
            self._reading = False
            review, late = found
            dialog = DecisionDialog(run_id, approving, asked, late, window, review)
            if dialog.exec() == QDialog.DialogCode.Accepted:
                self._send(run_id, approving, dialog)

        def unreadable(error: BaseException) -> None:
            self._reading = False
            QMessageBox.warning(
                window, "Deployment Overview", f"Could not read run #{run_id}: {error}"
            )

        if self._reading:  # a second click while the first one's reading
            return
        self._reading = True
        window.statusBar().showMessage(f"Reading what run #{run_id} does…", 5_000)
        window.tasks.submit(read, ask, unreadable)

    def _send(self, run_id: int, approving: bool, dialog: DecisionDialog) -> None:
        """Record the decision taken in `dialog`, off the GUI thread."""
        window = self.window
        note = dialog.note.toPlainText().strip()
        deploy_now = dialog.deploy_now.isChecked()

        def decide() -> Applied | None:
            if approving:
                return approvals.approve(run_id, note=note, deploy_now_instead=deploy_now)
            approvals.reject(run_id, note=note)
            return None

        def done(applied: Applied | None) -> None:
            if applied is None:
                message = f"Run #{run_id} rejected: nothing of it is configured or deployed."
            else:
                message = (
                    f"Run #{run_id} approved: "
                    f"{plural(applied.configurations_updated, 'configuration')} updated, "
                    f"{plural(applied.deployments_created, 'deployment')} created."
                )
                if applied.skipped:
                    message += (
                        f" {plural(applied.skipped, 'device')} changed since the request left "
                        f"as {'it is' if applied.skipped == 1 else 'they are'}."
                    )
            window.statusBar().showMessage(message, 10_000)
            window.engine.wake()
            window.poll()

        def failed(error: BaseException) -> None:
            what = "approve" if approving else "reject"
            QMessageBox.warning(
                window, "Deployment Overview", f"Could not {what} run #{run_id}: {error}"
            )
            window.poll()

        window.tasks.submit(decide, done, failed)
