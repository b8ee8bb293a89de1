"""The domain rules of TempClock: the only writer of the store.

Each module covers one part of the domain (accounts, keys, workers, locations,
departments, cost codes, shifts, clocking, timesheets). Every function takes the
account it acts for, raises `tempclock.api.services.errors.DomainError` subclasses with a
stable code, and appends an outbox event in the transaction of every write.
"""
