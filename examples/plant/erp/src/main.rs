//! `plant-erp [ADDRESS] [--no-negative-stock]`: the plant example's ERP on ADDRESS (else `ACME_ERP_ADDR`, else
//! 127.0.0.1:8088). It prints `listening on <address>` once it listens (with port 0, the port it was given),
//! then a line per posting, and stops on Ctrl-C.

use std::process::ExitCode;

use plant_erp::{Erp, Settings};

const USAGE: &str = "usage: plant-erp [ADDRESS] [--no-negative-stock]

The plant example's ERP: takes the material documents of the erp-postings route on
POST /sap/opu/odata/sap/API_MATERIAL_DOCUMENT_SRV/A_MaterialDocumentHeader and keeps the stock.
GET /balances, /documents, /healthz.

  ADDRESS               host:port to listen on (default: $ACME_ERP_ADDR, else 127.0.0.1:8088; port 0: any free port)
  --no-negative-stock   refuse postings that take unrestricted-use stock below zero
                        (quality-inspection and blocked stock never go below zero)";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut address = None;
    let mut settings = Settings::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--no-negative-stock" => settings.negative_stock = false,
            _ if arg.starts_with('-') || address.is_some() => {
                eprintln!("plant-erp: unexpected argument `{arg}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
            _ => address = Some(arg),
        }
    }
    let address = address
        .or_else(|| {
            std::env::var("ACME_ERP_ADDR")
                .ok()
                .filter(|a| !a.is_empty())
        })
        .unwrap_or_else(|| "127.0.0.1:8088".to_owned());
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("plant-erp: cannot listen on {address}: {err}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(bound) => println!("listening on {bound}"),
        Err(_) => println!("listening on {address}"),
    }
    let erp = Erp::new(settings);
    let stopped = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, erp.router())
        .with_graceful_shutdown(stopped)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("plant-erp: {err}");
            ExitCode::FAILURE
        }
    }
}
