"""``arbridge sandbox clickup``: the ClickUp emulator alone, for trying the connector by hand."""

from __future__ import annotations

import uvicorn

from arbridge.ports.connector import discover


def serve_clickup(*, port: int, rate_limit: int | None, host: str = "127.0.0.1") -> None:
    emulator = discover()["clickup"].emulator(rate_limit=rate_limit)
    base_url = f"http://{host}:{port}"
    config = emulator.config(base_url)
    print(f"ClickUp emulator on {base_url}/api/v2 (board: {base_url}/_emulator/board)")
    print(f"  token: {config['token']}   list_id: {config['list_id']}")
    print(
        f"  export ARBRIDGE_CLICKUP__BASE_URL={config['base_url']} "
        f"ARBRIDGE_CLICKUP__LIST_ID={config['list_id']} ARBRIDGE_CLICKUP__TOKEN={config['token']}"
    )
    uvicorn.run(emulator.app, host=host, port=port, log_level="warning")
