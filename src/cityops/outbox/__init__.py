"""The outbox as an operator sees it: the admin API and the dispatcher's runtime."""
