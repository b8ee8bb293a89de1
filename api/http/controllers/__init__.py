"""One controller per resource of API.md, all mounted under /api/v1."""

from tempclock.api.http.controllers.clock import ClockController
from tempclock.api.http.controllers.cost_codes import CostCodeController
from tempclock.api.http.controllers.departments import DepartmentController
from tempclock.api.http.controllers.events import EventController
from tempclock.api.http.controllers.locations import LocationController
from tempclock.api.http.controllers.on_site_now import OnSiteNowController
from tempclock.api.http.controllers.shifts import ShiftController
from tempclock.api.http.controllers.timesheets import TimesheetController
from tempclock.api.http.controllers.webhooks import WebhookController
from tempclock.api.http.controllers.workers import WorkerController

CONTROLLERS = (
    WorkerController,
    TimesheetController,
    ClockController,
    LocationController,
    ShiftController,
    DepartmentController,
    CostCodeController,
    WebhookController,
    OnSiteNowController,
    EventController,
)

__all__ = ["CONTROLLERS"]
