#!/usr/bin/env python3
"""A stand-in for ACME's ERP inventory API, for running the plant example on one machine.

It answers every POST with 201 and prints the material document it got: the movement types, quantities,
units, batches and orders. Nothing is kept.

    python3 examples/plant/erp_stand_in.py              # listens on 127.0.0.1:8088
    python3 examples/plant/erp_stand_in.py 127.0.0.1:9000
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class MaterialDocuments(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"d": {}}')
        keys = ", ".join(self.headers.get_all("Idempotency-Key") or [])
        print(f"POST {self.path}  Idempotency-Key: {keys}", flush=True)
        try:
            document = json.loads(body)
        except ValueError:
            print(f"  (not JSON) {body[:200]!r}", flush=True)
            return
        print(
            f"  {document.get('GoodsMovementCode')} {document.get('ReferenceDocument')}"
            f" posted {document.get('PostingDate')}",
            flush=True,
        )
        for item in document.get("to_MaterialDocumentItem", []):
            print(
                f"  {item.get('GoodsMovementType')} {item.get('Material')} {item.get('QuantityInEntryUnit')}"
                f" {item.get('EntryUnit')} batch {item.get('Batch')} at {item.get('Plant')}/{item.get('StorageLocation')}"
                f" order {item.get('PurchaseOrder') or item.get('ManufacturingOrder')}",
                flush=True,
            )

    def log_message(self, format, *args):
        pass


def main():
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8088").rpartition(":")
    server = HTTPServer((host or "127.0.0.1", int(port)), MaterialDocuments)
    print(f"ERP inventory API stand-in on http://{host or '127.0.0.1'}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
