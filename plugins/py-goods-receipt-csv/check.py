#!/usr/bin/env python3
"""Runs the built py-goods-receipt-csv component the way the host does, and checks what it answers.

    pip install wasmtime==50.0.1        # wasmtime-py, with component-model support
    ./build.sh && python3 check.py      # runs every check, prints the events for samples/receipts.csv
    python3 check.py --print FILE.csv   # just maps one file and prints the events (or the error) as JSON

The script loads plugins/target/components/py-goods-receipt-csv.wasm with wasmtime-py, provides the
`millwright:adapter/host` imports from small in-memory stand-ins (config, lookup tables, a fixed clock,
a log that records lines), leaves `millwright:adapter/edi` as traps (this mapper must not call it), and calls
`describe` and `map` across the component boundary, one fresh instance per document as the host does.

By default every WASI import is a trap, which is what the host's deny-by-default promise amounts to; pass
`--wasi` to link Wasmtime's WASIp2 instead (with an empty context: no files, env or network).
"""

import argparse
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

try:
    import wasmtime
    from wasmtime import component as cm
except ImportError:
    sys.exit("check.py needs wasmtime-py with component support: pip install wasmtime==50.0.1")

HERE = Path(__file__).resolve().parent
COMPONENT = HERE.parent / "target" / "components" / "py-goods-receipt-csv.wasm"
SAMPLES = HERE / "samples"
INBOUND = "millwright:adapter/inbound@0.1.0"
HOST = "millwright:adapter/host@0.1.0"
EDI = "millwright:adapter/edi@0.1.0"
# The only WASI functions the component calls while describing and mapping (found by running it with every
# other WASI import trapping); everything else it imports is never called.
WASI_STUBS = {
    "wasi:cli/environment@0.2.9": {
        "get-environment": lambda _store: [],
        "get-arguments": lambda _store: [],
    },
    # The runtime reseeds Python's `random` module on the first call (the snapshot taken at build time
    # would otherwise give every instance the same sequence).
    "wasi:random/random@0.2.9": {
        "get-random-bytes": lambda _store, n: os.urandom(n),
        "get-random-u64": lambda _store: int.from_bytes(os.urandom(8), "little"),
    },
}
NOW = "2024-05-01T20:00:00Z"

# wasmtime-py picks a WIT `result` case by the Python type of the value when the ok and err types look
# different to it, and `option<string>` (ok of `lookup`) accepts any object, so a lookup error would be sent
# as `ok`. Treating every result as tagged makes both directions explicit: results are Variant('ok' | 'err').
cm._types.ResultType._tagged = lambda self: True


def record(**fields: Any) -> SimpleNamespace:
    """A WIT record for wasmtime-py: attributes named as in WIT (kebab-case)."""
    ns = SimpleNamespace()
    for name, value in fields.items():
        setattr(ns, name.replace("_", "-"), value)
    return ns


def _trap(name: str):
    def trap(_store: Any, *_args: Any) -> Any:
        raise RuntimeError(f"{name} called")
    return trap


def to_json(value: Any) -> Any:
    """A value lifted by wasmtime-py -> plain JSON, variants as {case: payload} (or "case" without one)."""
    if isinstance(value, cm.Variant):
        return value.tag if value.payload is None else {value.tag: to_json(value.payload)}
    if isinstance(value, (cm.Record, SimpleNamespace)):
        return {k: to_json(v) for k, v in vars(value).items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


class FakeHost:
    """The host imports, answered from memory. `tables` maps a table name to a dict; a table that is absent
    answers `no-such-table`; a table named in `unavailable` answers `unavailable`."""

    def __init__(self, config: Optional[Dict[str, str]] = None, tables: Optional[Dict[str, Dict[str, str]]] = None,
                 unavailable: tuple = ()) -> None:
        self.config = config or {}
        self.tables = tables or {}
        self.unavailable = unavailable
        self.logs: List[tuple] = []
        self.lookups: List[tuple] = []

    def link(self, linker: cm.Linker) -> None:
        with linker.root() as root:
            with root.add_instance(HOST) as host:
                host.add_func("log", lambda _store, level, message: self.logs.append((level, message)))
                host.add_func("config", lambda _store, key: self.config.get(key))
                host.add_func("lookup", self._lookup)
                host.add_func("now", lambda _store: record(utc=NOW, original_offset_minutes=None))
                host.add_func("local-to-utc", lambda _store, *_: cm.Variant("err", "not provided by check.py"))

    def _lookup(self, _store: Any, table: str, key: str) -> cm.Variant:
        self.lookups.append((table, key))
        if table in self.unavailable:
            return cm.Variant("err", cm.Variant("unavailable", f"{table}: database connection reset"))
        if table not in self.tables:
            return cm.Variant("err", cm.Variant("no-such-table", table))
        return cm.Variant("ok", self.tables[table].get(key))


class Plugin:
    """The component, compiled once; `map` runs each document in a fresh store and instance."""

    def __init__(self, path: Path, wasi: bool) -> None:
        self.engine = wasmtime.Engine()
        self.component = cm.Component.from_file(self.engine, str(path))
        self.wasi = wasi

    def _instance(self, host: FakeHost):
        store = wasmtime.Store(self.engine)
        linker = cm.Linker(self.engine)
        host.link(linker)
        with linker.root() as root:
            with root.add_instance(EDI) as edi:  # this mapper must never call the EDI parser
                for name in ("parse", "render-x12"):
                    edi.add_func(name, _trap(f"{EDI}#{name}"))
            if not self.wasi:
                # The WASI calls the componentize-py runtime makes on its first export call, answered
                # with nothing (see WASI_STUBS).
                for interface, funcs in WASI_STUBS.items():
                    with root.add_instance(interface) as instance:
                        for name, func in funcs.items():
                            instance.add_func(name, func)
        if self.wasi:
            store.set_wasi(wasmtime.WasiConfig())  # nothing granted: no preopens, env, args or stdio
            linker.add_wasip2()
        else:
            # Every other WASI import traps. (Not used with --wasi: wasmtime-py defines traps under the
            # exact @0.2.9 names, which would shadow WASIp2's semver-compatible definitions.)
            linker.define_unknown_imports_as_traps(self.component)
        instance = linker.instantiate(store, self.component)
        iface = instance.get_export_index(store, INBOUND)
        funcs = {name: instance.get_func(store, instance.get_export_index(store, name, iface))
                 for name in ("describe", "map")}
        return store, funcs

    def describe(self) -> Any:
        store, funcs = self._instance(FakeHost())
        info = funcs["describe"](store)
        funcs["describe"].post_return(store)
        return to_json(info)

    def map(self, payload: bytes, host: FakeHost, file_name: str = "receipts.csv") -> Any:
        """Returns {"ok": [events]} or {"err": {kind: diagnostic}}."""
        store, funcs = self._instance(host)
        envelope = record(
            source="wh-receipts", tenant="acme-mfg", message_id="msg-0001", correlation_id="corr-42",
            received_at=record(utc="2024-05-01T19:59:58Z", original_offset_minutes=None),
            content_type="text/csv", file_name=file_name, headers=[], payload=payload)
        result = funcs["map"](store, envelope)
        funcs["map"].post_return(store)
        return to_json(result)


# --- the checks ---------------------------------------------------------------------------------------------

HEADER = "receipt_id,asn_ref,po_number,po_line,item,quantity_received,quantity_accepted,unit,lot,location,received_at\n"
ROW = "GR-1,829716,4500012877,10,ACME-BRKT-2210,{recv},{acc},EA,L1,DOCK-03,2024-05-01T08:15:00-05:00\n"


def full_host() -> FakeHost:
    return FakeHost(config={"source-system": "midwest-3pl"},
                    tables={"items": {"ACME-BRKT-2210": "100-2210", "AS-COIL-1.2MM": "RM-0412",
                                      "GSK-40-EPDM": "300-0040"},
                            "units": {"PC": "C62"}})


class Checks:
    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin
        self.failures = 0

    def expect(self, name: str, condition: bool, detail: Any = "") -> None:
        print(f"  {'ok  ' if condition else 'FAIL'} {name}" + ("" if condition else f": {detail}"))
        self.failures += not condition

    def expect_error(self, name: str, payload: bytes, kind: str, line: int, words: List[str],
                     host: Optional[FakeHost] = None, element: Optional[int] = None) -> None:
        result = self.plugin.map(payload, host or full_host())
        err = result.get("err") if isinstance(result, dict) else None
        diag = err.get(kind) if isinstance(err, dict) else None
        good = (diag is not None and diag["at"]["line"] == line
                and all(w in diag["message"] for w in words)
                and (element is None or diag["at"]["element"] == element))
        self.expect(f"{name} -> {kind} at line {line}" + (f": {diag['message']}" if good else ""), good, result)

    def run(self) -> int:
        print("describe")
        info = self.plugin.describe()
        self.expect("describe names the plugin and csv:goods-receipt",
                    info["name"] == "py-goods-receipt-csv" and info["document-types"] == ["csv:goods-receipt"],
                    info)

        print("samples/receipts.csv, with config and lookup tables")
        host = full_host()
        result = self.plugin.map((SAMPLES / "receipts.csv").read_bytes(), host)
        events = [e["goods-receipt"] for e in result.get("ok", [])]
        print(json.dumps(result, indent=2))
        self.expect("4 goods-receipt events", len(events) == 4, result)
        if len(events) == 4:
            e1, _, e3, e4 = events
            self.expect("header id / idempotency key / source / tenant / correlation",
                        e1["header"]["id"] == "csv:msg-0001:1"
                        and e1["header"]["idempotency-key"] == "midwest-3pl:GR-240501-0007:1"
                        and e1["header"]["source-system"] == "midwest-3pl"
                        and e1["header"]["tenant"] == "acme-mfg" and e1["header"]["correlation-id"] == "corr-42",
                        e1["header"])
            self.expect("received_at -> UTC with offset -300, also the event time",
                        e1["received-at"] == {"utc": "2024-05-01T13:15:00Z", "original-offset-minutes": -300}
                        and e1["header"]["event-time"] == e1["received-at"], e1["received-at"])
            self.expect("item: vendor-part plus internal from the items table",
                        e1["item"]["ids"] == [{"scheme": "vendor-part", "value": "ACME-BRKT-2210"},
                                              {"scheme": "internal", "value": "100-2210"}], e1["item"])
            self.expect("48 received, 46 accepted -> 2 rejected, EA -> H87",
                        (e1["quantity-received"], e1["quantity-accepted"], e1["quantity-rejected"])
                        == ({"value": "48", "unit": "H87"}, {"value": "46", "unit": "H87"},
                            {"value": "2", "unit": "H87"}), e1)
            self.expect("1250.500 - 1248.25 = 2.250 exactly, scale kept, LB -> LBR",
                        (e3["quantity-received"]["value"], e3["quantity-accepted"]["value"],
                         e3["quantity-rejected"]) == ("1250.500", "1248.25", {"value": "2.250", "unit": "LBR"}), e3)
            self.expect("PC -> C62 from the units table, before the built-in H87",
                        e4["quantity-received"]["unit"] == "C62", e4["quantity-received"])
            self.expect("empty asn_ref and lot -> none and no lots; PO ref and line kept",
                        e4["ship-notice-ref"] is None and e4["lots"] == []
                        and e4["order-ref"]["order-id"] == "4500012915" and e4["order-line"] == "30", e4)
            self.expect("lot, location and posted-at",
                        e1["lots"][0]["supplier-lot"] == "L24-1187"
                        and e1["location"] == {"scheme": "internal", "value": "DOCK-03"}
                        and e1["posted-at"]["utc"] == NOW, e1)
        self.expect("one info log line per document",
                    len(host.logs) == 1 and host.logs[0][0] == "info", host.logs)

        print("samples/receipts.csv, no config and no lookup tables")
        result = self.plugin.map((SAMPLES / "receipts.csv").read_bytes(), FakeHost())
        events = [e["goods-receipt"] for e in result.get("ok", [])]
        self.expect("source falls back to the envelope source; built-in units; vendor-part only",
                    len(events) == 4 and events[0]["header"]["source-system"] == "wh-receipts"
                    and events[0]["header"]["idempotency-key"] == "wh-receipts:GR-240501-0007:1"
                    and events[3]["quantity-received"]["unit"] == "H87"
                    and all(len(e["item"]["ids"]) == 1 for e in events), result)

        print("odd but valid files")
        crlf = ("\ufeff" + HEADER + "\n" + ROW.format(recv="5", acc="5") + ",,,,,,,,,,\n\n").replace("\n", "\r\n")
        result = self.plugin.map(crlf.encode(), full_host())
        self.expect("BOM, CRLF, blank and empty rows -> 1 event, rejected 0",
                    len(result.get("ok", [])) == 1
                    and result["ok"][0]["goods-receipt"]["quantity-rejected"]["value"] == "0", result)
        result = self.plugin.map(HEADER.encode(), full_host())
        self.expect("header only -> no events", result == {"ok": []}, result)

        print("errors")
        self.expect_error("samples/bad-quantity.csv", (SAMPLES / "bad-quantity.csv").read_bytes(),
                          "invalid-document", 3, ["quantity_received", "1,200"], element=6)
        self.expect_error("samples/unknown-unit.csv", (SAMPLES / "unknown-unit.csv").read_bytes(),
                          "unknown-reference", 2, ["unit", "FT"], element=8)
        self.expect_error("not UTF-8", (HEADER + ROW.format(recv="5", acc="5")).encode()
                          .replace(b"DOCK-03", b"DOCK-\xd603"), "invalid-document", 2, ["UTF-8"])
        self.expect_error("empty payload", b"", "invalid-document", 1, ["empty"])
        self.expect_error("whitespace payload", b"\n \r\n", "invalid-document", 1, ["empty"])
        self.expect_error("missing header column", (HEADER.replace(",lot", "") + "x\n").encode(),
                          "invalid-document", 1, ["lot"])
        self.expect_error("short row", (HEADER + ROW.format(recv="5", acc="5")
                                        + "GR-2,,4500012877,20,X,1,1,EA\n").encode(),
                          "invalid-document", 3, ["8 fields", "11", "lot"], element=9)
        self.expect_error("accepted > received", (HEADER + ROW.format(recv="5.0", acc="5.01")).encode(),
                          "invalid-document", 2, ["quantity_accepted", "5.01", "5.0"], element=7)
        self.expect_error("quantity 1e3", (HEADER + ROW.format(recv="1e3", acc="1")).encode(),
                          "invalid-document", 2, ["quantity_received", "1e3"])
        self.expect_error("negative quantity", (HEADER + ROW.format(recv="5", acc="-1")).encode(),
                          "invalid-document", 2, ["quantity_accepted", "-1"])
        self.expect_error("received_at without offset",
                          (HEADER + ROW.format(recv="5", acc="5").replace("-05:00", "")).encode(),
                          "invalid-document", 2, ["received_at", "offset"], element=11)
        self.expect_error("units table unavailable", (HEADER + ROW.format(recv="5", acc="5")).encode(),
                          "transient", 2, ["units"], host=FakeHost(tables={"items": {}}, unavailable=("units",)))

        print("FAILED: %d check(s)" % self.failures if self.failures else "all checks passed")
        return 1 if self.failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--component", type=Path, default=COMPONENT)
    parser.add_argument("--wasi", action="store_true", help="link Wasmtime's WASIp2 instead of trapping it")
    parser.add_argument("--print", type=Path, metavar="CSV", help="map one file and print the result")
    args = parser.parse_args()
    if not args.component.exists():
        sys.exit(f"{args.component} does not exist; run {HERE / 'build.sh'} first")
    plugin = Plugin(args.component, args.wasi)
    if args.print:
        host = full_host()
        print(json.dumps(plugin.map(args.print.read_bytes(), host, args.print.name), indent=2))
        for level, message in host.logs:
            print(f"[log {level}] {message}", file=sys.stderr)
        return 0
    return Checks(plugin).run()


if __name__ == "__main__":
    sys.exit(main())
