//! The plant example's ERP: a small inventory service in the style of SAP S/4HANA's material document API, the
//! far end of the `erp-postings` route. It takes the material documents the `erp-inventory-posting` plugin
//! renders, moves stock by each item's movement type, and keeps the balances per material, batch, plant,
//! storage location and stock type, so what the plant's documents did can be read back.
//!
//! | request | answer |
//! |---|---|
//! | `POST /sap/opu/odata/sap/API_MATERIAL_DOCUMENT_SRV/A_MaterialDocumentHeader` | `201` with the material document (`{"d": {"MaterialDocument": "4900000001", ...}}`), or a JSON error |
//! | `GET /balances?material=&batch=&plant=&location=&stock_type=` | the balances that are not zero, sorted |
//! | `GET /documents` | the material documents posted, in order |
//! | `GET /healthz` | `{"status": "ok"}` |
//!
//! Everything is kept in memory: a restart starts with no stock. `examples/plant/README.md` describes the
//! movement types, the refusals and the choices below.
//!
//! - A document posts whole or not at all: every item is checked and every balance computed before any moves.
//! - `Idempotency-Key`: a key already answered with a material document is answered with the same document
//!   again (`201`, header `Idempotent-Replayed: true`) and moves nothing, whatever the body: the key names the
//!   business fact. A refused request does not take its key. A request without a key posts.
//! - Unrestricted-use stock may go below zero (SAP's "negative stocks allowed" for the plant, set so that a
//!   line's consumption posts even when its staging was not reported); quality-inspection and blocked stock
//!   may not, as in SAP. [`Settings::negative_stock`] `false` refuses negative unrestricted stock too.
//! - A material's unit is the one of its first posting; a posting in another unit is refused (there is no
//!   conversion table).

mod decimal;
mod posting;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub use decimal::Decimal;
pub use posting::MOVEMENT_TYPES;

/// Where the plugin posts material documents (the plant configuration's target URL, after the address).
pub const DOCUMENTS_PATH: &str =
    "/sap/opu/odata/sap/API_MATERIAL_DOCUMENT_SRV/A_MaterialDocumentHeader";

/// The first material document number.
pub const FIRST_DOCUMENT: u64 = 4_900_000_001;

/// How the ERP books.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Whether unrestricted-use stock may go below zero. Quality-inspection and blocked stock never may.
    pub negative_stock: bool,
    /// Whether each posting, replay and refusal is written to standard output, a line each (and a line per
    /// item of a posting).
    pub log: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            negative_stock: true,
            log: true,
        }
    }
}

/// The stock types an ERP keeps apart, in SAP's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StockType {
    /// `01`, unrestricted use.
    Unrestricted,
    /// `02`, quality inspection.
    QualityInspection,
    /// `07`, blocked.
    Blocked,
}

impl StockType {
    fn name(self) -> &'static str {
        match self {
            StockType::Unrestricted => "unrestricted",
            StockType::QualityInspection => "quality-inspection",
            StockType::Blocked => "blocked",
        }
    }
}

/// A material's batch at a plant and storage location: where a balance is kept (with a stock type).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub material: String,
    pub batch: Option<String>,
    pub plant: String,
    pub storage_location: Option<String>,
}

impl Place {
    /// `P2/0004`, or `P2` for stock kept at the plant without a storage location.
    pub fn location(&self) -> String {
        match &self.storage_location {
            Some(sloc) => format!("{}/{sloc}", self.plant),
            None => self.plant.clone(),
        }
    }
}

/// One balance, as `GET /balances` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub material: String,
    pub batch: Option<String>,
    pub plant: String,
    pub storage_location: Option<String>,
    pub stock_type: StockType,
    /// An exact decimal string, negative when more was taken than was there.
    pub quantity: String,
    pub unit: String,
}

/// The balances `GET /balances` lists: each given field must match; `location` is a storage location
/// (`0004`) or a plant and storage location (`P2/0004`). An empty value does not filter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    pub material: Option<String>,
    pub batch: Option<String>,
    pub plant: Option<String>,
    pub location: Option<String>,
    pub stock_type: Option<String>,
}

impl Filter {
    fn admits(&self, place: &Place, stock: StockType) -> bool {
        fn given(f: &Option<String>) -> Option<&str> {
            f.as_deref().filter(|s| !s.is_empty())
        }
        let is =
            |f: &Option<String>, value: Option<&str>| given(f).is_none_or(|f| Some(f) == value);
        let location = given(&self.location).is_none_or(|l| match l.split_once('/') {
            Some((plant, sloc)) => {
                plant == place.plant && Some(sloc) == place.storage_location.as_deref()
            }
            None => Some(l) == place.storage_location.as_deref(),
        });
        is(&self.material, Some(&place.material))
            && is(&self.batch, place.batch.as_deref())
            && is(&self.plant, Some(&place.plant))
            && is(&self.stock_type, Some(stock.name()))
            && location
    }
}

/// A request the ERP does not post: the HTTP status and a JSON error naming the item and the field.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    /// `not-json`, `missing-field`, `invalid-field`, `not-a-decimal`, `unknown-movement-type`, `deficit`,
    /// `unit-mismatch`, `idempotency-key`, `unsupported-media-type`.
    pub code: &'static str,
    pub message: String,
    /// The index of the item in `to_MaterialDocumentItem`, from 0.
    pub item: Option<usize>,
    pub field: Option<&'static str>,
}

impl Refusal {
    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code,
            message: message.into(),
            item: None,
            field: None,
        }
    }

    fn item(mut self, index: usize) -> Self {
        self.item = Some(index);
        self
    }

    fn field(mut self, name: &'static str) -> Self {
        self.field = Some(name);
        self
    }

    /// Where in the document, as `to_MaterialDocumentItem[1].QuantityInEntryUnit`.
    pub fn target(&self) -> Option<String> {
        match (self.item, self.field) {
            (Some(i), Some(f)) => Some(format!("to_MaterialDocumentItem[{i}].{f}")),
            (Some(i), None) => Some(format!("to_MaterialDocumentItem[{i}]")),
            (None, Some(f)) => Some(f.to_owned()),
            (None, None) => None,
        }
    }

    /// The answer's body, in OData's error shape with the item and field beside it.
    pub fn body(&self) -> Value {
        let text = match self.target() {
            Some(target) => format!("{target}: {}", self.message),
            None => self.message.clone(),
        };
        json!({"error": {
            "code": self.code,
            "message": {"lang": "en", "value": text},
            "target": self.target(),
            "item": self.item,
            "field": self.field,
        }})
    }
}

/// What a `POST` of a material document is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Posted now: `201` with the material document.
    Posted(Value),
    /// The key was answered before: `201` with the same document, nothing moved.
    Replayed(Value),
    Refused(Refusal),
}

impl Answer {
    /// The material document number of a posted or replayed answer.
    pub fn number(&self) -> Option<&str> {
        match self {
            Answer::Posted(d) | Answer::Replayed(d) => d["d"]["MaterialDocument"].as_str(),
            Answer::Refused(_) => None,
        }
    }
}

#[derive(Debug, Default)]
struct Books {
    stock: BTreeMap<(Place, StockType), Decimal>,
    /// Each material's unit: the one of its first posting.
    units: BTreeMap<String, String>,
    /// The documents posted, as answered (`d`), with their keys.
    documents: Vec<(Value, Option<String>)>,
    /// Which document answered each key.
    answered: HashMap<String, usize>,
}

/// The ERP: its books and how it keeps them. Clones share the books.
#[derive(Debug, Clone, Default)]
pub struct Erp {
    books: Arc<Mutex<Books>>,
    settings: Arc<Settings>,
}

impl Erp {
    pub fn new(settings: Settings) -> Self {
        Self {
            books: Arc::default(),
            settings: Arc::new(settings),
        }
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        // Nothing panics while the books are open, and a posting is applied whole or not at all.
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Posts one material document (the body of a `POST`), under `key` when the request had one.
    pub fn post(&self, key: Option<&str>, body: &[u8]) -> Answer {
        let mut books = self.books();
        if let Some(&index) = key.and_then(|k| books.answered.get(k)) {
            let answer = json!({"d": books.documents[index].0});
            self.log(&format!(
                "Idempotency-Key {} again: material document {} answered again, nothing moved",
                key.unwrap_or_default(),
                answer["d"]["MaterialDocument"].as_str().unwrap_or_default()
            ));
            return Answer::Replayed(answer);
        }
        match self.book(&mut books, key, body) {
            Ok(answer) => Answer::Posted(answer),
            Err(refusal) => {
                self.log(&format!(
                    "refused ({} {}): {}",
                    refusal.status,
                    refusal.code,
                    refusal.body()["error"]["message"]["value"]
                        .as_str()
                        .unwrap_or_default()
                ));
                Answer::Refused(refusal)
            }
        }
    }

    fn book(&self, books: &mut Books, key: Option<&str>, body: &[u8]) -> Result<Value, Refusal> {
        let (document, objects) = posting::read(body)?;
        let header = posting::header(&document)?;
        let items = objects
            .iter()
            .enumerate()
            .map(|(i, o)| posting::item(i, o))
            .collect::<Result<Vec<_>, _>>()?;

        // Every unit and every balance checked before anything moves.
        let mut units = BTreeMap::new();
        let mut after: BTreeMap<(Place, StockType), Decimal> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            let unit = books
                .units
                .get(&item.material)
                .or(units.get(&item.material));
            if let Some(unit) = unit.filter(|u| **u != item.unit) {
                return Err(Refusal::bad(
                    "unit-mismatch",
                    format!(
                        "{} is kept in {unit}, and this item posts it in {}; post it in {unit}",
                        item.material, item.unit
                    ),
                )
                .item(i)
                .field("EntryUnit"));
            }
            units.insert(item.material.clone(), item.unit.clone());
            for (place, stock, change) in &item.changes {
                let slot = (place.clone(), *stock);
                let now = after
                    .get(&slot)
                    .or(books.stock.get(&slot))
                    .copied()
                    .unwrap_or(Decimal::ZERO);
                let then = now.plus(*change);
                let may_go_negative =
                    *stock == StockType::Unrestricted && self.settings.negative_stock;
                if then.is_negative() && !may_go_negative {
                    return Err(Refusal::bad(
                        "deficit",
                        format!(
                            "movement type {} takes {} {} of {}{} from {} stock at {}, and {} {} are there",
                            item.movement_type,
                            item.quantity,
                            item.unit,
                            place.material,
                            place
                                .batch
                                .as_deref()
                                .map(|b| format!(" batch {b}"))
                                .unwrap_or_default(),
                            stock.name(),
                            place.location(),
                            now,
                            item.unit
                        ),
                    )
                    .item(i)
                    .field("QuantityInEntryUnit"));
                }
                after.insert(slot, then);
            }
        }

        // Posted: the stock moves, the document is numbered and kept.
        for (slot, quantity) in after {
            if quantity.is_zero() {
                books.stock.remove(&slot);
            } else {
                books.stock.insert(slot, quantity);
            }
        }
        books.units.extend(units);
        let number = (FIRST_DOCUMENT + books.documents.len() as u64).to_string();
        let year = header.posting_date[..4].to_owned();
        let answer = answer(&document, &objects, &number, &year);
        if let Some(key) = key {
            books.answered.insert(key.to_owned(), books.documents.len());
        }
        books
            .documents
            .push((answer.clone(), key.map(str::to_owned)));

        let mut lines = vec![format!(
            "material document {number}/{year}: {} {} posted {}{}",
            header.code,
            header.reference.as_deref().unwrap_or("-"),
            header.posting_date,
            key.map(|k| format!(", Idempotency-Key {k}"))
                .unwrap_or_default()
        )];
        for (i, item) in items.iter().enumerate() {
            let (place, ..) = &item.changes[0];
            lines.push(format!(
                "  {} {} {} {} {} batch {} at {}{}",
                i + 1,
                item.movement_type,
                item.material,
                item.quantity,
                item.unit,
                place.batch.as_deref().unwrap_or("-"),
                place.location(),
                item.account
                    .as_deref()
                    .map(|a| format!(", {a}"))
                    .unwrap_or_default()
            ));
        }
        self.log(&lines.join("\n"));
        Ok(json!({ "d": answer }))
    }

    /// The balances `filter` admits that are not zero, sorted by material, batch, plant, storage location and
    /// stock type.
    pub fn balances(&self, filter: &Filter) -> Vec<Balance> {
        let books = self.books();
        books
            .stock
            .iter()
            .filter(|((place, stock), _)| filter.admits(place, *stock))
            .map(|((place, stock), quantity)| Balance {
                material: place.material.clone(),
                batch: place.batch.clone(),
                plant: place.plant.clone(),
                storage_location: place.storage_location.clone(),
                stock_type: *stock,
                quantity: quantity.to_string(),
                unit: books
                    .units
                    .get(&place.material)
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The material documents posted, in order, each as it was answered with its `IdempotencyKey` (or `null`).
    pub fn documents(&self) -> Vec<Value> {
        self.books()
            .documents
            .iter()
            .map(|(document, key)| {
                let mut document = document.clone();
                document["IdempotencyKey"] = json!(key);
                document
            })
            .collect()
    }

    /// The routes: the material document API, the balances, the documents and the health check.
    pub fn router(&self) -> Router {
        Router::new()
            .route(DOCUMENTS_PATH, post(post_document))
            .route("/balances", get(balances))
            .route("/documents", get(documents))
            .route("/healthz", get(|| async { axum::Json(json!({"status": "ok"})) }))
            .fallback(|| async {
                let refusal = Refusal {
                    status: 404,
                    code: "not-found",
                    message: format!(
                        "no such resource: material documents are posted to {DOCUMENTS_PATH}; GET /balances, \
                         /documents, /healthz"
                    ),
                    item: None,
                    field: None,
                };
                refused(&refusal)
            })
            .with_state(self.clone())
    }

    fn log(&self, text: &str) {
        if self.settings.log {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }
}

/// Serves `erp` on `listener` until the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, erp: Erp) -> std::io::Result<()> {
    axum::serve(listener, erp.router()).await
}

/// The material document as answered: OData's metadata, the number and year, the header as posted, the items as
/// posted with their numbers.
fn answer(
    document: &Map<String, Value>,
    items: &[Map<String, Value>],
    number: &str,
    year: &str,
) -> Value {
    const ASSIGNED: [&str; 4] = [
        "__metadata",
        "MaterialDocument",
        "MaterialDocumentYear",
        "MaterialDocumentItem",
    ];
    let mut d = Map::new();
    d.insert(
        "__metadata".into(),
        json!({
            "uri": format!("{DOCUMENTS_PATH}(MaterialDocumentYear='{year}',MaterialDocument='{number}')"),
            "type": "API_MATERIAL_DOCUMENT_SRV.A_MaterialDocumentHeaderType",
        }),
    );
    d.insert("MaterialDocumentYear".into(), json!(year));
    d.insert("MaterialDocument".into(), json!(number));
    for (name, value) in document {
        if !ASSIGNED.contains(&name.as_str()) && name != "to_MaterialDocumentItem" {
            d.insert(name.clone(), value.clone());
        }
    }
    let results: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut posted = Map::new();
            posted.insert("MaterialDocumentYear".into(), json!(year));
            posted.insert("MaterialDocument".into(), json!(number));
            posted.insert("MaterialDocumentItem".into(), json!((i + 1).to_string()));
            for (name, value) in item {
                if !ASSIGNED.contains(&name.as_str()) {
                    posted.insert(name.clone(), value.clone());
                }
            }
            Value::Object(posted)
        })
        .collect();
    d.insert(
        "to_MaterialDocumentItem".into(),
        json!({ "results": results }),
    );
    Value::Object(d)
}

fn refused(refusal: &Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(refusal.body())).into_response()
}

async fn post_document(State(erp): State<Erp>, headers: HeaderMap, body: Bytes) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return refused(&Refusal {
            status: 415,
            code: "unsupported-media-type",
            message: "a material document is posted as Content-Type: application/json".into(),
            item: None,
            field: None,
        });
    }
    let keys: Vec<&HeaderValue> = headers.get_all("idempotency-key").iter().collect();
    let key = match keys.as_slice() {
        [] => None,
        [one] => match one.to_str().map(str::trim) {
            Ok(key) if !key.is_empty() => Some(key.to_owned()),
            _ => {
                return refused(&Refusal::bad(
                    "idempotency-key",
                    "the Idempotency-Key header is empty or not visible ASCII",
                ));
            }
        },
        _ => {
            return refused(&Refusal::bad(
                "idempotency-key",
                format!(
                    "the request has {} Idempotency-Key headers; a posting names its business fact once",
                    keys.len()
                ),
            ));
        }
    };
    match erp.post(key.as_deref(), &body) {
        Answer::Posted(d) => created(d, false),
        Answer::Replayed(d) => created(d, true),
        Answer::Refused(refusal) => refused(&refusal),
    }
}

fn created(d: Value, replayed: bool) -> Response {
    let mut response = (StatusCode::CREATED, axum::Json(&d)).into_response();
    let headers = response.headers_mut();
    if let Some(location) = d["d"]["__metadata"]["uri"]
        .as_str()
        .and_then(|uri| HeaderValue::from_str(uri).ok())
    {
        headers.insert(header::LOCATION, location);
    }
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

async fn balances(
    State(erp): State<Erp>,
    Query(filter): Query<Filter>,
) -> axum::Json<Vec<Balance>> {
    axum::Json(erp.balances(&filter))
}

async fn documents(State(erp): State<Erp>) -> axum::Json<Vec<Value>> {
    axum::Json(erp.documents())
}

#[cfg(test)]
mod tests;
