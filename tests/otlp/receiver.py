"""A real OTLP trace receiver for tests: gRPC and HTTP/protobuf in one process.

Run with: "$(tests/otlp/venv.sh)" tests/otlp/receiver.py /tmp/spans.jsonl
          [--tls CERT.pem KEY.pem [--client-ca CA.pem]]

Serves the gRPC TraceService and OTLP/HTTP `POST /v1/traces` (protobuf), each on a
free loopback port, and prints one line `{"grpc_port": .., "http_port": ..}` once
both listen. Every span received is appended to the file named by the first argument
as one JSON object per line:

    {"transport": "grpc", "trace_id": hex, "span_id": hex, "parent_span_id": hex or "",
     "name": .., "kind": "SPAN_KIND_SERVER", "attributes": {..},
     "status": {"code": "STATUS_CODE_ERROR", "message": ..}, "resource": {..}}

With `--tls`, both listeners speak TLS only, presenting CERT; with `--client-ca` as
well, they require a client certificate signed by CA (mTLS). A failed handshake is
reported as one line on stderr.

Stops on SIGTERM/SIGINT or when its standard input closes, so it never outlives the
test that started it.
"""

import argparse
import json
import signal
import ssl
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2


def any_value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind)


def attributes(kvs):
    return {kv.key: any_value(kv.value) for kv in kvs}


class Sink:
    """Appends spans to the output file; one lock for both transports."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.out = open(path, "a", encoding="utf-8")

    def write(self, request, transport):
        lines = []
        for rs in request.resource_spans:
            resource = attributes(rs.resource.attributes)
            for ss in rs.scope_spans:
                for span in ss.spans:
                    lines.append(
                        json.dumps(
                            {
                                "transport": transport,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_span_id": span.parent_span_id.hex(),
                                "name": span.name,
                                "kind": trace_pb2.Span.SpanKind.Name(span.kind),
                                "attributes": attributes(span.attributes),
                                "status": {
                                    "code": trace_pb2.Status.StatusCode.Name(span.status.code),
                                    "message": span.status.message,
                                },
                                "resource": resource,
                                "scope": ss.scope.name,
                            }
                        )
                    )
        with self.lock:
            for line in lines:
                self.out.write(line + "\n")
            self.out.flush()


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, sink):
        self.sink = sink

    def Export(self, request, context):
        self.sink.write(request, "grpc")
        return trace_service_pb2.ExportTraceServiceResponse()


def http_handler(sink):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/v1/traces":
                return self.reply(404, b"", "text/plain")
            if self.headers.get("Content-Type", "").split(";")[0] != "application/x-protobuf":
                return self.reply(415, b"protobuf only", "text/plain")
            request = trace_service_pb2.ExportTraceServiceRequest()
            try:
                request.ParseFromString(body)
            except Exception as e:  # a malformed body is the exporter's bug: say so
                return self.reply(400, str(e).encode(), "text/plain")
            sink.write(request, "http")
            response = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.reply(200, response, "application/x-protobuf")

        def reply(self, status, body, content_type):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def arguments():
    parser = argparse.ArgumentParser(description="OTLP trace receiver for tests")
    parser.add_argument("spans", help="JSON lines file the spans are appended to")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve TLS only")
    parser.add_argument("--client-ca", help="with --tls: require a client certificate")
    args = parser.parse_args()
    if args.client_ca and not args.tls:
        parser.error("--client-ca needs --tls")
    return args


def read(path):
    with open(path, "rb") as f:
        return f.read()


def grpc_port(server, args):
    if not args.tls:
        return server.add_insecure_port("127.0.0.1:0")
    cert, key = args.tls
    credentials = grpc.ssl_server_credentials(
        [(read(key), read(cert))],
        root_certificates=read(args.client_ca) if args.client_ca else None,
        require_client_auth=bool(args.client_ca),
    )
    return server.add_secure_port("127.0.0.1:0", credentials)


def tls_http_server(server, args):
    """Wrap the listening socket: each accepted connection does its handshake in
    its handler thread, so a client that fails it stops no one else."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*args.tls)
    if args.client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(args.client_ca)
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )

    def handle_error(request, client_address):
        print(f"receiver: http connection from {client_address}: {sys.exc_info()[1]}",
              file=sys.stderr, flush=True)

    server.handle_error = handle_error


def main():
    args = arguments()
    sink = Sink(args.spans)

    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(sink), grpc_server)
    port = grpc_port(grpc_server, args)
    grpc_server.start()

    http_server = ThreadingHTTPServer(("127.0.0.1", 0), http_handler(sink))
    http_server.daemon_threads = True
    if args.tls:
        tls_http_server(http_server, args)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()

    print(json.dumps({"grpc_port": port, "http_port": http_server.server_address[1]}), flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def watch_stdin():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    stop.wait()
    http_server.shutdown()
    grpc_server.stop(grace=0.5).wait()


if __name__ == "__main__":
    main()
