"""The HTTP layer of the event flow: routers, dependencies, API shapes and views."""
