"""An OTLP/HTTP logs endpoint for the tests: decodes each POST /v1/logs with
the OpenTelemetry protobuf definitions and appends every log record to a JSONL
file. Prints its port on the first line of stdout.

Usage: receiver.py OUT.jsonl [--fail-first N]   (answers the first N requests 503)
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2


def value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def main():
    out = sys.argv[1]
    fail_first = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--fail-first" else 0
    state = {"requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            state["requests"] += 1
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/v1/logs" or self.headers.get("Content-Type") != "application/x-protobuf":
                self.send_response(400)
                self.end_headers()
                return
            if state["requests"] <= fail_first:
                self.send_response(503)
                self.send_header("Retry-After", "0")
                self.end_headers()
                return
            request = logs_service_pb2.ExportLogsServiceRequest()
            request.ParseFromString(body)
            with open(out, "a", encoding="utf-8") as f:
                for rl in request.resource_logs:
                    resource = {a.key: value(a.value) for a in rl.resource.attributes}
                    for sl in rl.scope_logs:
                        for r in sl.log_records:
                            f.write(json.dumps({
                                "event_name": r.event_name,
                                "trace_id": r.trace_id.hex(),
                                "span_id": r.span_id.hex(),
                                "attributes": {a.key: value(a.value) for a in r.attributes},
                                "resource": resource,
                                "scope": sl.scope.name,
                            }) + "\n")
            reply = logs_service_pb2.ExportLogsServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
