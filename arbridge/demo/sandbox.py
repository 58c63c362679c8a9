"""``arbridge sandbox <sink>``: a task sink's emulator alone, for trying the connector by hand."""

from __future__ import annotations

import uvicorn

from arbridge.ports.connector import SinkConnector, discover


def serve_sink(name: str, *, port: int, rate_limit: int | None, host: str = "127.0.0.1") -> None:
    connector = discover()[name]
    assert isinstance(connector, SinkConnector)
    emulator = connector.emulator(rate_limit=rate_limit)
    base_url = f"http://{host}:{port}"
    config = emulator.config(base_url)
    print(f"{name} emulator on {base_url} (board: {base_url}/_emulator/board)")
    print("  " + "   ".join(f"{key}: {value}" for key, value in config.items()))
    exports = " ".join(f"ARBRIDGE_{name.upper()}__{k.upper()}={v}" for k, v in config.items())
    print(f"  export {exports}")
    uvicorn.run(emulator.app, host=host, port=port, log_level="warning")
