"""planhat-sandbox: a stateful local HTTP server that behaves like Planhat's REST API."""
