"""The till daemon: readers, till session, offline outbox, printer.  Talks to loyalty over HTTP."""
