//! Generated bindings for the two plugin worlds.

/// The `inbound-mapper` world, which also owns the shared `types`, `host`, `edi` and `sequences` interfaces.
pub mod inbound {
    wit_bindgen::generate!({
        path: "../wit",
        world: "inbound-mapper",
        pub_export_macro: true,
        export_macro_name: "export_inbound_world",
        default_bindings_module: "millwright_sdk::bindings::inbound",
        additional_derives: [PartialEq, Eq],
    });
}

/// The `outbound-mapper` world, reusing the interfaces generated for `inbound`.
pub mod outbound {
    wit_bindgen::generate!({
        path: "../wit",
        world: "outbound-mapper",
        pub_export_macro: true,
        export_macro_name: "export_outbound_world",
        default_bindings_module: "millwright_sdk::bindings::outbound",
        with: {
            "millwright:adapter/types@0.2.0": crate::bindings::inbound::millwright::adapter::types,
            "millwright:adapter/host@0.2.0": crate::bindings::inbound::millwright::adapter::host,
            "millwright:adapter/edi@0.2.0": crate::bindings::inbound::millwright::adapter::edi,
            "millwright:adapter/sequences@0.2.0": crate::bindings::inbound::millwright::adapter::sequences,
        },
        additional_derives: [PartialEq, Eq],
    });
}
