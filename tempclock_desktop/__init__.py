"""The TempClock desktop admin app (PySide6)."""
