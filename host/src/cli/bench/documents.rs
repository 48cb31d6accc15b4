//! The documents the bench sends: synthetic X12 856 ship notices of a chosen size.

/// A synthetic X12 856 (S/O/P/I) with `packs` packs of one item each, shipment `shipment`. About 120 bytes per
/// pack on top of 500 bytes of envelope and header.
pub fn ship_notice(packs: usize, shipment: &str) -> Vec<u8> {
    let mut segments = vec![
        "ST*856*0001".to_string(),
        format!("BSN*00*{shipment}*20240611*1415*0001"),
        "DTM*011*20240611*1415".into(),
        "HL*1**S".into(),
        "TD1*CTN25*1****G*310.5*LB".into(),
        "TD5*B*2*ODFL*M".into(),
        "REF*BM*BOL-88231".into(),
        "N1*SF*ALLEGHENY COIL & STRIP*1*088112233".into(),
        "N1*ST*ACME STAMPING PLANT 2*92*ACME-P2".into(),
        "HL*2*1*O".into(),
        "PRF*4500012345***20240601".into(),
    ];
    let mut hl = 2;
    for pack in 0..packs {
        hl += 1;
        segments.push(format!("HL*{hl}*2*P"));
        segments.push(format!("MAN*GM*00012345{pack:010}"));
        hl += 1;
        segments.push(format!("HL*{hl}*{}*I", hl - 1));
        segments.push(format!(
            "LIN*{}*BP*ACME-CS-{pack:04}*VP*AC-{pack:04}-060*LT*H24-{pack:04}",
            pack + 1
        ));
        segments.push("SN1**920.250*LB".into());
    }
    segments.push(format!("CTT*{hl}"));
    let count = segments.len() + 1;
    segments.push(format!("SE*{count}*0001"));
    let mut doc = vec![
        "ISA*00*          *00*          *ZZ*ALLEGHENYCOIL  *ZZ*ACMESTAMPING   *240611*1416*U*00401*000000907*0*P*>"
            .to_string(),
        "GS*SH*ALLEGHENYCOIL*ACMESTAMPING*20240611*1416*907*X*004010".into(),
    ];
    doc.extend(segments);
    doc.push("GE*1*907".into());
    doc.push("IEA*1*000000907".into());
    (doc.join("~\n") + "~\n").into_bytes()
}

/// The number of packs that makes a ship notice closest to `bytes` bytes.
pub fn packs_for(bytes: usize) -> usize {
    let size = |packs| ship_notice(packs, "SHP-000000").len();
    let per_pack = size(1) - size(0);
    let mut packs = (bytes.saturating_sub(size(0)) / per_pack).max(1);
    while size(packs + 1) <= bytes {
        packs += 1;
    }
    while packs > 1 && size(packs) > bytes {
        packs -= 1;
    }
    // The nearer of the sizes just under and just over.
    if size(packs + 1) - bytes < bytes.saturating_sub(size(packs)) {
        packs + 1
    } else {
        packs
    }
}
