"""R3 portal: server-rendered pages over the API."""
