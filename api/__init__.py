"""The read API: the stack's figures per tenant over PromQL (REST and a WebSocket stream)."""
