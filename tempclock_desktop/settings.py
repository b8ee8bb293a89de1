"""The desktop's own settings, kept as JSON in the data directory (Qt-free).

Host and port start from the configuration (`--host`, `TEMPCLOCK_HOST`...) and
are replaced by what the admin saves in the Server panel.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from tempclock.api.config import DEFAULT_HOST, Config, private_dir, private_file

FILENAME = "desktop.json"
LAN_HOST = "0.0.0.0"  # noqa: S104 - only when the admin explicitly exposes the API


HOURS_FORMATS = (("7.37 h (decimal)", "decimal"), ("7 h 22 min", "minutes"))


class TableLayout(msgspec.Struct, kw_only=True):
    """How the admin arranged one table: column widths they set, and the hidden columns
    (by title; None until they use the column chooser, so each column's default holds)."""

    widths: dict[str, int] = msgspec.field(default_factory=dict)
    hidden: list[str] | None = None


class DesktopSettings(msgspec.Struct, kw_only=True):
    host: str = DEFAULT_HOST
    port: int = 8787
    account_id: int | None = None  # the account shown last time
    start_server: bool = True
    certfile: str | None = None  # TLS certificate and key (PEM), used on the LAN
    keyfile: str | None = None
    backup_daily: bool = True  # a dated backup a day, kept `backup_keep` deep
    backup_keep: int = 7
    backup_folder: str | None = None  # None: `backups` in the data directory
    hours_format: str = "decimal"  # "decimal": 7.37 h; "minutes": 7 h 22 min
    tables: dict[str, TableLayout] = msgspec.field(default_factory=dict)  # by table name
    guide_pending: bool = False  # the getting-started guide opens at start until done or skipped
    # The kiosk's own listener for tablets and phones on the local network (None: off).
    kiosk_host: str | None = None
    kiosk_port: int = 8788  # as `tempclock serve --kiosk-port`
    kiosk_certfile: str | None = None  # TLS for the kiosk listener (PEM)
    kiosk_keyfile: str | None = None
    late_notified: dict[str, str] = msgspec.field(default_factory=dict)  # shift id -> status

    @property
    def kiosk_tls_files(self) -> tuple[str | None, str | None]:
        """The kiosk listener's certificate and key, when both are set."""
        if self.kiosk_certfile and self.kiosk_keyfile:
            return self.kiosk_certfile, self.kiosk_keyfile
        return None, None

    @property
    def lan_exposed(self) -> bool:
        return self.host not in ("127.0.0.1", "localhost", "::1")

    @property
    def tls_files(self) -> tuple[str | None, str | None]:
        """The certificate and key to serve HTTPS with: only when exposed on the LAN."""
        if self.lan_exposed and self.certfile and self.keyfile:
            return self.certfile, self.keyfile
        return None, None


def settings_path(config: Config) -> Path:
    return config.data_dir / FILENAME


def load_settings(config: Config) -> DesktopSettings:
    """The saved settings, or the configuration's host and port on first run."""
    path = settings_path(config)
    try:
        return msgspec.json.decode(path.read_bytes(), type=DesktopSettings)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return DesktopSettings(host=config.host, port=config.port)


def save_settings(config: Config, settings: DesktopSettings) -> None:
    """Write the settings atomically (a crash never leaves half a file)."""
    path = settings_path(config)
    private_dir(path.parent)
    temp = private_file(path.with_suffix(".tmp"))
    temp.write_bytes(msgspec.json.format(msgspec.json.encode(settings)))
    temp.replace(path)
