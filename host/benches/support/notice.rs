//! The synthetic ship notices the mapping benchmark and the instruction counter share.

/// A ship notice in S/O/P/I layout with `packs` packs of one item each, with correct counts.
pub fn ship_notice(packs: usize) -> Vec<u8> {
    let mut segments = vec![
        "ST*856*0001".to_string(),
        "BSN*00*SHP-BENCH*20240611*1415*0001".into(),
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
