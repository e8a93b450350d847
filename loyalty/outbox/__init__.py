"""The transactional outbox: side effects recorded with the write, dispatched after commit."""
