"""Remote mode: a tracking server (`trackio-nb serve`) and the client side that talks to it.

`app.py` is the Starlette app over the same storage writes and query functions as local
mode; `client_backend.RemoteBackend` sends a run's writes to it in batches (each applied
once, kept in `outbox.py` files while the server is unreachable); `client_reader.RemoteReader`
answers every read with the same Polars frames as `readers.LocalReader`.
"""
