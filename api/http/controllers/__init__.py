"""One controller per resource of API.md, all mounted under /api/v1."""

from api.http.controllers.clock import ClockController
from api.http.controllers.cost_codes import CostCodeController
from api.http.controllers.departments import DepartmentController
from api.http.controllers.events import EventController
from api.http.controllers.locations import LocationController
from api.http.controllers.on_site_now import OnSiteNowController
from api.http.controllers.shifts import ShiftController
from api.http.controllers.timesheets import TimesheetController
from api.http.controllers.webhooks import WebhookController
from api.http.controllers.workers import WorkerController

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
