//! An outbound mapper built against the published contract 0.1.0 (`wit/published/0.1.0`), with wit-bindgen
//! alone — as a plugin built before 0.2.0 was. The host's tests run it on 0.2.0 events: it must keep running
//! unchanged. Each event becomes one text document naming the event's type, its id and the target.

// Built for wasm only: natively there is no host to import from.
#[cfg(target_family = "wasm")]
mod component {
    wit_bindgen::generate!({
        path: "../../wit/published/0.1.0",
        world: "outbound-mapper",
    });

    use exports::millwright::adapter::outbound::Guest;
    use millwright::adapter::types::{
        CanonicalEvent, MappingError, OutboundDocument, PluginInfo, Target,
    };

    struct Mapper;

    impl Guest for Mapper {
        fn describe() -> PluginInfo {
            PluginInfo {
                name: "test-contract-0-1-outbound".into(),
                version: "0.1.0".into(),
                document_types: vec!["test:text".into()],
                description: Some("built against contract 0.1.0".into()),
            }
        }

        fn render(
            event: CanonicalEvent,
            target: Target,
        ) -> Result<Vec<OutboundDocument>, MappingError> {
            let (kind, id) = match &event {
                CanonicalEvent::Exception(e) => ("exception", e.header.id.clone()),
                CanonicalEvent::ShipNotice(e) => ("ship-notice", e.header.id.clone()),
                CanonicalEvent::QualityHold(e) => ("quality-hold", e.header.id.clone()),
                _ => ("other", String::new()),
            };
            Ok(vec![OutboundDocument {
                content_type: "text/plain".into(),
                file_name: None,
                headers: Vec::new(),
                payload: format!("{kind} {id} for {}", target.name).into_bytes(),
            }])
        }
    }

    export!(Mapper);
}
