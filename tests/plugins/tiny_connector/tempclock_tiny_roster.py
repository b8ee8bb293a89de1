"""A tiny ATS connector: workers from a "REF:First Last, ..." setting."""

from tempclock.plugins import Connector, Setting, hookimpl

SEEN_EVENTS: list[int] = []


class TinyRoster(Connector):
    id = "tiny-roster"
    name = "Tiny roster"
    kind = "ats"
    version = "0.3.1"
    capabilities = frozenset({"import_workers"})
    settings = (Setting("roster", "Roster", required=True,
                        help="REF:First Last, REF:First Last"),)

    def run(self, context):
        entries = [part.strip() for part in context.settings["roster"].split(",") if part.strip()]
        for line, entry in enumerate(entries, start=1):
            ref, _, name = entry.partition(":")
            first, _, last = name.strip().partition(" ")
            try:
                context.count(context.upsert_worker(
                    {"employee_ref": ref, "first_name": first, "last_name": last}))
            except ValueError as error:
                context.row_error(line, str(error))
            context.progress(line, len(entries))


@hookimpl
def register_connectors(register):
    register(TinyRoster())


@hookimpl
def worker_created(event, context):
    SEEN_EVENTS.append(event.id)
