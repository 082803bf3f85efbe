"""A minimal module on the real azure-iot-device SDK, for `central up` tests.

- direct method `echo` answers 200 with `{"payload": <request payload>, "pid": <its pid>}`;
- direct method `send` sends its payload as a JSON message on output `out`;
  any other method answers 404, as the SDK samples do;
- every desired-property patch is reported back as `reported.last_patch`;
- on start it reports `reported.started_pid`;
- SIGTERM disconnects and exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from typing import Any

from azure.iot.device import IoTHubModuleClient, Message, MethodRequest, MethodResponse


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client = IoTHubModuleClient.create_from_edge_environment()

    def on_method(request: MethodRequest) -> None:
        if request.name == "echo":
            answer = {"payload": request.payload, "pid": os.getpid()}
            response = MethodResponse.create_from_method_request(request, 200, answer)
        elif request.name == "send":
            message = Message(json.dumps(request.payload), content_encoding="utf-8", content_type="application/json")
            client.send_message_to_output(message, "out")
            response = MethodResponse.create_from_method_request(request, 200, {"sent": True})
        else:
            response = MethodResponse.create_from_method_request(request, 404, {"error": f"no method {request.name}"})
        client.send_method_response(response)

    def on_patch(patch: dict[str, Any]) -> None:
        client.patch_twin_reported_properties({"last_patch": {k: v for k, v in patch.items() if k != "$version"}})

    client.on_method_request_received = on_method
    client.on_twin_desired_properties_patch_received = on_patch
    client.connect()
    client.patch_twin_reported_properties({"started_pid": os.getpid()})
    print(f"echo module {os.environ.get('IOTEDGE_MODULEID')} ready (pid {os.getpid()})", flush=True)
    try:
        stop.wait()
    finally:
        client.shutdown()


if __name__ == "__main__":
    main()
