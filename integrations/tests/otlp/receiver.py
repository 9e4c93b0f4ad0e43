#!/usr/bin/env python3
"""An OTLP/HTTP metrics receiver for the tests: decodes each export with the official protobuf
definitions (PyPI `opentelemetry-proto`) and prints it as one JSON line on standard output.

Usage: receiver.py [PORT]   (default 0: a free port on 127.0.0.1)

The first line is `listening on 127.0.0.1:PORT`. Each `POST /v1/metrics` with
`Content-Type: application/x-protobuf` is answered with an empty ExportMetricsServiceResponse
and printed as {"resource_metrics": [...], "headers": {...}} (the request's `x-` headers); anything else is answered 404, 415 or 400
and printed as {"error": "..."}, so a test sees every request that went wrong.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

MAX_BODY = 16 * 1024 * 1024


def any_value(v):
    """An OTLP AnyValue as JSON: strings stay strings, integers become numbers."""
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "int_value":
        return v.int_value
    if kind == "double_value":
        return v.double_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return attributes(v.kvlist_value.values)
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return None


def attributes(kvs):
    out = {}
    for kv in kvs:
        if kv.key in out:
            raise ValueError(f"attribute {kv.key!r} appears twice")
        out[kv.key] = any_value(kv.value)
    return out


def temporality(t):
    return AggregationTemporality.Name(t)


def metric_json(m):
    data = m.WhichOneof("data")
    out = {"name": m.name, "unit": m.unit, "description": m.description, "type": data}
    points = []
    if data == "histogram":
        out["temporality"] = temporality(m.histogram.aggregation_temporality)
        for p in m.histogram.data_points:
            points.append({
                "attributes": attributes(p.attributes),
                "count": p.count,
                "sum": p.sum if p.HasField("sum") else None,
                "bounds": list(p.explicit_bounds),
                "bucket_counts": list(p.bucket_counts),
                "min": p.min if p.HasField("min") else None,
                "max": p.max if p.HasField("max") else None,
            })
    elif data in ("sum", "gauge"):
        body = getattr(m, data)
        if data == "sum":
            out["temporality"] = temporality(body.aggregation_temporality)
            out["monotonic"] = body.is_monotonic
        for p in body.data_points:
            kind = p.WhichOneof("value")
            points.append({
                "attributes": attributes(p.attributes),
                "value": p.as_double if kind == "as_double" else p.as_int,
            })
    else:
        out["unsupported"] = True
    out["points"] = points
    return out


def export_json(req):
    resources = []
    for rm in req.resource_metrics:
        metrics = []
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                j = metric_json(m)
                j["scope"] = sm.scope.name
                metrics.append(j)
        resources.append({"resource": attributes(rm.resource.attributes), "metrics": metrics})
    return {"resource_metrics": resources}


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def reply(self, status, body=b"", content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def refuse(self, status, message):
        emit({"error": message, "path": self.path})
        self.reply(status, message.encode())

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self.refuse(411, "missing or invalid Content-Length")
        if length < 0 or length > MAX_BODY:
            return self.refuse(413, f"body of {length} bytes")
        body = self.rfile.read(length)
        if self.path != "/v1/metrics":
            return self.refuse(404, f"unexpected path {self.path}")
        ctype = self.headers.get("Content-Type", "")
        if ctype != "application/x-protobuf":
            return self.refuse(415, f"unexpected content type {ctype!r}")
        req = ExportMetricsServiceRequest()
        try:
            req.ParseFromString(body)
            decoded = export_json(req)
        except (DecodeError, ValueError) as e:
            return self.refuse(400, f"undecodable export: {e}")
        # Headers a client adds of its own (API keys and the like), to check they arrive.
        decoded["headers"] = {k.lower(): v for k, v in self.headers.items()
                              if k.lower().startswith("x-")}
        emit(decoded)
        self.reply(200, ExportMetricsServiceResponse().SerializeToString(),
                   "application/x-protobuf")

    def do_GET(self):
        self.refuse(405, "only POST")


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    host, port = server.server_address[:2]
    print(f"listening on {host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
