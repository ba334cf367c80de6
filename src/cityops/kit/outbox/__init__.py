"""The transactional outbox: messages written with the change that caused them, delivered later.

`queue` writes and manages rows, `dispatcher` delivers them through channels, `webhook` is the
signed-HTTP channel, `models` holds the table. Modules register their channels by manifest.
"""
