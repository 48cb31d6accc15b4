//! The books: what each movement type does, idempotency, and refusals that change nothing.

use super::*;

/// An ERP that does not write to standard output.
fn erp() -> Erp {
    Erp::new(Settings {
        log: false,
        ..Settings::default()
    })
}

/// An item as the plugin renders it: every key present, `null` where there is nothing.
fn item(
    movement: &str,
    material: &str,
    quantity: &str,
    unit: &str,
    batch: Option<&str>,
    sloc: &str,
) -> Value {
    json!({
        "Material": material, "Plant": "P2", "StorageLocation": sloc, "Batch": batch,
        "GoodsMovementType": movement, "InventoryStockType": null, "QuantityInEntryUnit": quantity,
        "EntryUnit": unit, "PurchaseOrder": null, "PurchaseOrderItem": null, "ManufacturingOrder": null,
        "GoodsMovementRefDocType": null, "IssuingOrReceivingPlant": null, "IssuingOrReceivingStorageLoc": null,
        "CostCenter": null, "ShelfLifeExpirationDate": null, "MaterialDocumentItemText": null,
    })
}

fn with(mut item: Value, fields: Value) -> Value {
    for (name, value) in fields.as_object().expect("fields") {
        item[name] = value.clone();
    }
    item
}

/// A receipt against purchase order 4500020114 line 10.
fn receipt(
    material: &str,
    quantity: &str,
    unit: &str,
    batch: &str,
    sloc: &str,
    stock: &str,
) -> Value {
    with(
        item("101", material, quantity, unit, Some(batch), sloc),
        json!({"InventoryStockType": stock, "PurchaseOrder": "4500020114", "PurchaseOrderItem": "10",
               "GoodsMovementRefDocType": "B"}),
    )
}

fn document(code: &str, items: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "GoodsMovementCode": code, "PostingDate": "2024-06-18", "DocumentDate": "2024-06-18",
        "ReferenceDocument": "SHP-BW-240617-01", "MaterialDocumentHeaderText": "test", "to_MaterialDocumentItem": items,
    }))
    .expect("JSON")
}

fn posted(answer: Answer) -> Value {
    match answer {
        Answer::Posted(d) => d,
        other => panic!("not posted: {other:?}"),
    }
}

fn refused(answer: Answer) -> Refusal {
    match answer {
        Answer::Refused(r) => r,
        other => panic!("not refused: {other:?}"),
    }
}

/// Every balance as `material batch location stock-type quantity unit`.
fn stock(erp: &Erp) -> Vec<String> {
    erp.balances(&Filter::default())
        .iter()
        .map(|b| {
            format!(
                "{} {} {}/{} {} {} {}",
                b.material,
                b.batch.as_deref().unwrap_or("-"),
                b.plant,
                b.storage_location.as_deref().unwrap_or("-"),
                b.stock_type.name(),
                b.quantity,
                b.unit
            )
        })
        .collect()
}

/// The bolts of the 944: 4850 accepted, 150 damaged, at the Riverside dock.
fn bolts_received(erp: &Erp) {
    posted(erp.post(
        Some("944-1"),
        &document(
            "01",
            vec![
                receipt("FST-M10-40", "4850", "EA", "B2406-17", "0004", "01"),
                receipt("FST-M10-40", "150", "EA", "B2406-17", "0004", "07"),
            ],
        ),
    ));
}

#[test]
fn a_goods_receipt_puts_accepted_stock_in_unrestricted_and_rejected_in_blocked() {
    let erp = erp();
    bolts_received(&erp);
    assert_eq!(
        stock(&erp),
        [
            "FST-M10-40 B2406-17 P2/0004 unrestricted 4850 EA",
            "FST-M10-40 B2406-17 P2/0004 blocked 150 EA",
        ]
    );
    let documents = erp.documents();
    assert_eq!(documents.len(), 1);
    let d = &documents[0];
    assert_eq!(
        (
            &d["MaterialDocument"],
            &d["MaterialDocumentYear"],
            &d["IdempotencyKey"]
        ),
        (&json!("4900000001"), &json!("2024"), &json!("944-1"))
    );
    assert_eq!(d["GoodsMovementCode"], "01", "the header as posted");
    let items = d["to_MaterialDocumentItem"]["results"]
        .as_array()
        .expect("items");
    assert_eq!(
        items
            .iter()
            .map(|i| i["MaterialDocumentItem"].clone())
            .collect::<Vec<_>>(),
        [json!("1"), json!("2")]
    );
    assert_eq!(items[1]["InventoryStockType"], "07", "each item as posted");
}

#[test]
fn each_movement_type_moves_stock_as_sap_does() {
    let erp = erp();
    bolts_received(&erp);
    let order = json!({"ManufacturingOrder": "WO-240617-01"});
    let cost_center = json!({"CostCenter": "P2-4711"});
    let b = Some("B2406-17");
    let cases: Vec<(Value, &[&str])> = vec![
        // 102: a receipt reversed, out of the stock type it went to.
        (
            with(
                receipt("FST-M10-40", "50", "EA", "B2406-17", "0004", "07"),
                json!({"GoodsMovementType": "102"}),
            ),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4850 EA",
                "FST-M10-40 B2406-17 P2/0004 blocked 100 EA",
            ],
        ),
        // 122: the damaged bolts back to the vendor.
        (
            with(
                item("122", "FST-M10-40", "100", "EA", b, "0004"),
                json!({"InventoryStockType": "07", "PurchaseOrder": "4500020114"}),
            ),
            &["FST-M10-40 B2406-17 P2/0004 unrestricted 4850 EA"],
        ),
        // 311: staged to line 3.
        (
            with(
                item("311", "FST-M10-40", "600", "EA", b, "0004"),
                json!({"IssuingOrReceivingPlant": "P2", "IssuingOrReceivingStorageLoc": "0300"}),
            ),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4250 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 600 EA",
            ],
        ),
        // 261 and 262: issued to the work order, some back.
        (
            with(
                item("261", "FST-M10-40", "480", "EA", b, "0300"),
                order.clone(),
            ),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4250 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 120 EA",
            ],
        ),
        (
            with(
                item("262", "FST-M10-40", "20", "EA", b, "0300"),
                order.clone(),
            ),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4250 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 140 EA",
            ],
        ),
        // 201/202 and 551/552: to a cost center and scrapped, and back.
        (
            with(
                item("201", "FST-M10-40", "40", "EA", b, "0300"),
                cost_center.clone(),
            ),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4250 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 100 EA",
            ],
        ),
        (
            with(
                item("202", "FST-M10-40", "10", "EA", b, "0300"),
                cost_center.clone(),
            ),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4250 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 110 EA",
            ],
        ),
        (
            with(
                item("551", "FST-M10-40", "100", "EA", b, "0300"),
                cost_center.clone(),
            ),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4250 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 10 EA",
            ],
        ),
        (
            with(
                item("552", "FST-M10-40", "5", "EA", b, "0300"),
                cost_center.clone(),
            ),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4250 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 15 EA",
            ],
        ),
        // 344 and 343: blocked by quality, released.
        (
            item("344", "FST-M10-40", "250", "EA", b, "0004"),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4000 EA",
                "FST-M10-40 B2406-17 P2/0004 blocked 250 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 15 EA",
            ],
        ),
        (
            item("343", "FST-M10-40", "50", "EA", b, "0004"),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4050 EA",
                "FST-M10-40 B2406-17 P2/0004 blocked 200 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 15 EA",
            ],
        ),
        // 349 and 350: blocked to quality inspection and back; 322 and 321: unrestricted to inspection and back.
        (
            item("349", "FST-M10-40", "200", "EA", b, "0004"),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4050 EA",
                "FST-M10-40 B2406-17 P2/0004 quality-inspection 200 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 15 EA",
            ],
        ),
        (
            item("350", "FST-M10-40", "20", "EA", b, "0004"),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4050 EA",
                "FST-M10-40 B2406-17 P2/0004 quality-inspection 180 EA",
                "FST-M10-40 B2406-17 P2/0004 blocked 20 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 15 EA",
            ],
        ),
        (
            item("322", "FST-M10-40", "50", "EA", b, "0004"),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4000 EA",
                "FST-M10-40 B2406-17 P2/0004 quality-inspection 230 EA",
                "FST-M10-40 B2406-17 P2/0004 blocked 20 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 15 EA",
            ],
        ),
        (
            item("321", "FST-M10-40", "230", "EA", b, "0004"),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4230 EA",
                "FST-M10-40 B2406-17 P2/0004 blocked 20 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 15 EA",
            ],
        ),
        // 301: to another plant, storage location and all.
        (
            with(
                item("301", "FST-M10-40", "230", "EA", b, "0004"),
                json!({"IssuingOrReceivingPlant": "P3", "IssuingOrReceivingStorageLoc": "0001"}),
            ),
            &[
                "FST-M10-40 B2406-17 P2/0004 unrestricted 4000 EA",
                "FST-M10-40 B2406-17 P2/0004 blocked 20 EA",
                "FST-M10-40 B2406-17 P2/0300 unrestricted 15 EA",
                "FST-M10-40 B2406-17 P3/0001 unrestricted 230 EA",
            ],
        ),
    ];
    for (item, expected) in cases {
        let movement = item["GoodsMovementType"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        posted(erp.post(None, &document("04", vec![item])));
        assert_eq!(stock(&erp), expected, "after {movement}");
    }
}

#[test]
fn receipts_without_an_order_and_from_production() {
    let erp = erp();
    posted(erp.post(None, &document("05", vec![
        with(item("501", "LUB-GREASE-HT", "20", "KG", None, "0300"), json!({"InventoryStockType": "01"})),
        with(item("502", "LUB-GREASE-HT", "0.850", "KG", None, "0300"), json!({"InventoryStockType": "01"})),
        with(item("101", "BRK-ASSY-330", "118", "EA", Some("L240619-A01"), "0900"),
             json!({"InventoryStockType": "01", "ManufacturingOrder": "WO-240617-01", "GoodsMovementRefDocType": "F"})),
    ])));
    assert_eq!(
        stock(&erp),
        [
            "BRK-ASSY-330 L240619-A01 P2/0900 unrestricted 118 EA",
            "LUB-GREASE-HT - P2/0300 unrestricted 19.150 KG",
        ]
    );
}

#[test]
fn unrestricted_stock_may_go_negative_and_other_stock_types_may_not() {
    let erp = erp();
    let order = json!({"ManufacturingOrder": "WO-240617-01"});
    // The line consumed what was never staged there: allowed, and the balance shows the deficit.
    posted(erp.post(
        None,
        &document(
            "03",
            vec![with(
                item("261", "LUB-GREASE-HT", "0.850", "KG", None, "0300"),
                order.clone(),
            )],
        ),
    ));
    assert_eq!(
        stock(&erp),
        ["LUB-GREASE-HT - P2/0300 unrestricted -0.850 KG"]
    );

    // Blocked stock cannot be released beyond what is there.
    bolts_received(&erp);
    let before = stock(&erp);
    let refusal = refused(erp.post(
        None,
        &document(
            "04",
            vec![
                item("343", "FST-M10-40", "100", "EA", Some("B2406-17"), "0004"),
                item("343", "FST-M10-40", "100", "EA", Some("B2406-17"), "0004"),
            ],
        ),
    ));
    assert_eq!(
        (refusal.status, refusal.code, refusal.item, refusal.field),
        (400, "deficit", Some(1), Some("QuantityInEntryUnit"))
    );
    assert!(
        refusal.message.contains("takes 100 EA of FST-M10-40 batch B2406-17 from blocked stock at P2/0004, and 50 EA are there"),
        "{}", refusal.message
    );
    assert_eq!(stock(&erp), before, "nothing half-applied");

    // With negative stock refused, unrestricted stock too.
    let strict = Erp::new(Settings {
        negative_stock: false,
        log: false,
    });
    let refusal = refused(strict.post(
        None,
        &document(
            "03",
            vec![with(
                item("261", "LUB-GREASE-HT", "0.850", "KG", None, "0300"),
                order,
            )],
        ),
    ));
    assert_eq!((refusal.code, refusal.item), ("deficit", Some(0)));
    assert!(
        refusal
            .message
            .contains("from unrestricted stock at P2/0300, and 0 KG are there"),
        "{}",
        refusal.message
    );
    assert!(stock(&strict).is_empty());
    assert!(strict.documents().is_empty());
}

#[test]
fn the_same_idempotency_key_is_answered_with_the_first_document_and_moves_nothing() {
    let erp = erp();
    let body = document(
        "01",
        vec![receipt(
            "FST-NUT-M10",
            "12000",
            "EA",
            "N2406-09",
            "0004",
            "01",
        )],
    );
    let first = posted(erp.post(Some("x12:RIVERSIDE3PL:1"), &body));
    assert_eq!(first["d"]["MaterialDocument"], "4900000001");
    let again = erp.post(Some("x12:RIVERSIDE3PL:1"), &body);
    assert_eq!(again, Answer::Replayed(first.clone()));
    // The key names the business fact: a body rendered differently the second time is not posted either.
    let other = document(
        "01",
        vec![receipt(
            "FST-NUT-M10",
            "10000",
            "EA",
            "N2406-09",
            "0004",
            "01",
        )],
    );
    assert_eq!(
        erp.post(Some("x12:RIVERSIDE3PL:1"), &other),
        Answer::Replayed(first)
    );
    assert_eq!(
        stock(&erp),
        ["FST-NUT-M10 N2406-09 P2/0004 unrestricted 12000 EA"]
    );
    assert_eq!(erp.documents().len(), 1);

    // Without a key, every request posts.
    assert_eq!(erp.post(None, &body).number(), Some("4900000002"));
    assert_eq!(erp.post(None, &body).number(), Some("4900000003"));
    assert_eq!(
        stock(&erp),
        ["FST-NUT-M10 N2406-09 P2/0004 unrestricted 36000 EA"]
    );

    // A refused request does not take its key: the corrected document posts under it.
    let bad = document(
        "01",
        vec![receipt(
            "FST-NUT-M10",
            "12,000",
            "EA",
            "N2406-09",
            "0004",
            "01",
        )],
    );
    refused(erp.post(Some("x12:RIVERSIDE3PL:2"), &bad));
    assert_eq!(
        erp.post(Some("x12:RIVERSIDE3PL:2"), &body).number(),
        Some("4900000004")
    );
}

#[test]
fn bad_documents_are_refused_naming_the_item_and_the_field_and_change_nothing() {
    let erp = erp();
    bolts_received(&erp);
    let before = stock(&erp);
    let good = receipt("FST-NUT-M10", "12000", "EA", "N2406-09", "0004", "01");
    // The body, then the refusal's code, item and field, and something its message says.
    type Case = (
        Vec<u8>,
        &'static str,
        Option<usize>,
        Option<&'static str>,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (b"SHP-BW-240617-01,FST-M10-40,4850".to_vec(), "not-json", None, None, "not JSON"),
        (b"[]".to_vec(), "not-an-object", None, None, "not an object"),
        (document("01", vec![]), "missing-field", None, Some("to_MaterialDocumentItem"), "is empty"),
        (
            serde_json::to_vec(&json!({"GoodsMovementCode": "01", "to_MaterialDocumentItem": [good.clone()]})).expect("JSON"),
            "missing-field", None, Some("PostingDate"), "`PostingDate` is missing",
        ),
        (
            serde_json::to_vec(&json!({"GoodsMovementCode": "01", "PostingDate": "18.06.2024", "to_MaterialDocumentItem": [good.clone()]})).expect("JSON"),
            "invalid-field", None, Some("PostingDate"), "not a date written YYYY-MM-DD",
        ),
        (
            document("01", vec![good.clone(), with(good.clone(), json!({"Material": null}))]),
            "missing-field", Some(1), Some("Material"), "`Material` is missing",
        ),
        (
            document("01", vec![good.clone(), with(good.clone(), json!({"QuantityInEntryUnit": "12,000"}))]),
            "not-a-decimal", Some(1), Some("QuantityInEntryUnit"), "`12,000` is not a decimal quantity",
        ),
        (
            document("01", vec![with(good.clone(), json!({"QuantityInEntryUnit": "-5"}))]),
            "not-a-decimal", Some(0), Some("QuantityInEntryUnit"), "without a sign",
        ),
        (
            document("01", vec![with(good.clone(), json!({"QuantityInEntryUnit": 12000}))]),
            "invalid-field", Some(0), Some("QuantityInEntryUnit"), "not a string",
        ),
        (
            document("01", vec![with(good.clone(), json!({"QuantityInEntryUnit": "0.000"}))]),
            "invalid-field", Some(0), Some("QuantityInEntryUnit"), "zero",
        ),
        (
            document("01", vec![good.clone(), with(good.clone(), json!({"GoodsMovementType": "309"}))]),
            "unknown-movement-type", Some(1), Some("GoodsMovementType"), "movement type `309` is not one this ERP posts",
        ),
        (
            document("01", vec![with(good.clone(), json!({"InventoryStockType": "03"}))]),
            "invalid-field", Some(0), Some("InventoryStockType"), "`03` is not a stock type",
        ),
        (
            document("01", vec![with(good.clone(), json!({"PurchaseOrderItem": null}))]),
            "missing-field", Some(0), Some("PurchaseOrderItem"), "`PurchaseOrderItem` is missing",
        ),
        (
            document("03", vec![item("261", "FST-M10-40", "480", "EA", Some("B2406-17"), "0300")]),
            "missing-field", Some(0), Some("ManufacturingOrder"), "`ManufacturingOrder` is missing",
        ),
        (
            document("04", vec![item("311", "FST-M10-40", "480", "EA", Some("B2406-17"), "0004")]),
            "missing-field", Some(0), Some("IssuingOrReceivingStorageLoc"), "is missing",
        ),
        (
            document("01", vec![good.clone(), receipt("FST-M10-40", "10", "PAC", "B2406-17", "0004", "01")]),
            "unit-mismatch", Some(1), Some("EntryUnit"), "FST-M10-40 is kept in EA, and this item posts it in PAC",
        ),
    ];
    for (body, code, item, field, says) in cases {
        let refusal = refused(erp.post(Some("k"), &body));
        let what = String::from_utf8_lossy(&body);
        assert_eq!(
            (refusal.status, refusal.code, refusal.item, refusal.field),
            (400, code, item, field),
            "{what}"
        );
        assert!(
            refusal.message.contains(says),
            "{what}: {}",
            refusal.message
        );
        let value = refusal.body();
        assert_eq!(value["error"]["code"], code);
        if let Some(target) = refusal.target() {
            assert!(
                value["error"]["message"]["value"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(&target))
            );
        }
    }
    assert_eq!(stock(&erp), before, "nothing moved");
    assert_eq!(erp.documents().len(), 1, "nothing posted");
}

#[test]
fn balances_are_filtered_by_material_batch_and_location() {
    let erp = erp();
    bolts_received(&erp);
    posted(erp.post(
        None,
        &document(
            "01",
            vec![
                receipt("FST-NUT-M10", "12000", "EA", "N2406-09", "0004", "01"),
                receipt("FST-M10-40", "10", "EA", "B2406-18", "0002", "01"),
            ],
        ),
    ));
    let find = |filter: Filter| {
        erp.balances(&filter)
            .iter()
            .map(|b| {
                format!(
                    "{} {} {}",
                    b.material,
                    b.batch.as_deref().unwrap_or("-"),
                    b.quantity
                )
            })
            .collect::<Vec<_>>()
    };
    let filter = |material: &str, batch: &str, location: &str| Filter {
        material: Some(material.into()),
        batch: Some(batch.into()),
        location: Some(location.into()),
        ..Filter::default()
    };
    assert_eq!(
        find(filter("FST-M10-40", "", "")),
        [
            "FST-M10-40 B2406-17 4850",
            "FST-M10-40 B2406-17 150",
            "FST-M10-40 B2406-18 10"
        ]
    );
    assert_eq!(
        find(filter("FST-M10-40", "B2406-17", "")),
        ["FST-M10-40 B2406-17 4850", "FST-M10-40 B2406-17 150"]
    );
    assert_eq!(find(filter("", "", "P2/0002")), ["FST-M10-40 B2406-18 10"]);
    assert_eq!(find(filter("", "", "0004")).len(), 3);
    assert!(find(filter("", "", "P3/0004")).is_empty());
    assert_eq!(
        find(Filter {
            stock_type: Some("blocked".into()),
            ..Filter::default()
        }),
        ["FST-M10-40 B2406-17 150"]
    );
}

/// One HTTP/1.1 request on a fresh connection: the status, the headers (lowercase names) and the JSON body.
async fn http(addr: std::net::SocketAddr, request: &str) -> (u16, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let answer = String::from_utf8(answer).expect("UTF-8");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    let status = head[9..12].parse().expect("a status");
    (
        status,
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

fn post_request(headers: &str, body: &[u8]) -> String {
    format!(
        "POST {DOCUMENTS_PATH} HTTP/1.1\r\nhost: erp\r\nconnection: close\r\ncontent-length: {}\r\n{headers}\r\n{}",
        body.len(),
        String::from_utf8_lossy(body)
    )
}

#[tokio::test]
async fn over_http() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let erp = erp();
    tokio::spawn(serve(listener, erp.clone()));
    let body = document(
        "01",
        vec![receipt(
            "FST-NUT-M10",
            "12000",
            "EA",
            "N2406-09",
            "0004",
            "01",
        )],
    );
    let json = "content-type: application/json\r\n";

    let (status, head, answer) = http(
        addr,
        &post_request(&format!("{json}idempotency-key: k1\r\n"), &body),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["d"]["MaterialDocument"], "4900000001");
    assert!(head.contains(
        "location: /sap/opu/odata/sap/api_material_document_srv/a_materialdocumentheader(materialdocumentyear='2024',materialdocument='4900000001')"
    ), "{head}");
    assert!(!head.contains("idempotent-replayed"));

    let (status, head, again) = http(
        addr,
        &post_request(&format!("{json}idempotency-key: k1\r\n"), &body),
    )
    .await;
    assert_eq!((status, &again), (201, &answer));
    assert!(head.contains("idempotent-replayed: true"), "{head}");

    let (status, _, error) = http(addr, &post_request("content-type: text/csv\r\n", &body)).await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (415, &json!("unsupported-media-type"))
    );
    let (status, _, error) = http(
        addr,
        &post_request(
            &format!("{json}idempotency-key: a\r\nidempotency-key: b\r\n"),
            &body,
        ),
    )
    .await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (400, &json!("idempotency-key"))
    );
    let (status, _, error) = http(addr, &post_request(json, b"{not json")).await;
    assert_eq!((status, &error["error"]["code"]), (400, &json!("not-json")));

    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nhost: erp\r\nconnection: close\r\n\r\n");
    let (status, _, balances) = http(
        addr,
        &get("/balances?material=FST-NUT-M10&location=P2/0004"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        balances,
        json!([{"material": "FST-NUT-M10", "batch": "N2406-09", "plant": "P2", "storage_location": "0004",
                "stock_type": "unrestricted", "quantity": "12000", "unit": "EA"}])
    );
    let (_, _, documents) = http(addr, &get("/documents")).await;
    assert_eq!(documents.as_array().map(Vec::len), Some(1));
    assert_eq!(documents[0]["IdempotencyKey"], "k1");
    assert_eq!(
        http(addr, &get("/healthz")).await.2,
        json!({"status": "ok"})
    );
    let (status, _, error) = http(addr, &get("/stock")).await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (404, &json!("not-found"))
    );
}
