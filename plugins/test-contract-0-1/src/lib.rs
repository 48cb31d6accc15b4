//! An inbound mapper built against the published contract 0.1.0 (`wit/published/0.1.0`), with wit-bindgen
//! alone — as a plugin built before 0.2.0 was. The host's tests run it beside 0.2.0 plugins: it must keep
//! running unchanged. Each document becomes one `exception` event whose message is the document's text.

// Built for wasm only: natively there is no host to import from.
#[cfg(target_family = "wasm")]
mod component {
    wit_bindgen::generate!({
        path: "../../wit/published/0.1.0",
        world: "inbound-mapper",
    });

    use exports::millwright::adapter::inbound::Guest;
    use millwright::adapter::types::{
        CanonicalEvent, Envelope, EventHeader, Exception, MappingError, PluginInfo, Severity,
    };

    struct Mapper;

    impl Guest for Mapper {
        fn describe() -> PluginInfo {
            PluginInfo {
                name: "test-contract-0-1".into(),
                version: "0.1.0".into(),
                document_types: vec!["test:text".into()],
                description: Some("built against contract 0.1.0".into()),
            }
        }

        fn map(document: Envelope) -> Result<Vec<CanonicalEvent>, MappingError> {
            let text = String::from_utf8_lossy(&document.payload)
                .trim()
                .to_string();
            Ok(vec![CanonicalEvent::Exception(Exception {
                header: EventHeader {
                    id: format!("test:{}", document.message_id),
                    source_system: document.source.clone(),
                    tenant: String::new(),
                    site: None,
                    event_time: document.received_at.clone(),
                    correlation_id: String::new(),
                    idempotency_key: document.message_id.clone(),
                },
                kind: "contract-0.1".into(),
                severity: Severity::Info,
                subject: document.source,
                message: text,
            })])
        }
    }

    export!(Mapper);
}
