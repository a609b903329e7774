use super::*;
use std::io::Write;
use zip::write::SimpleFileOptions;

/// A zip of `(name, content)` entries, deflated.
pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        w.start_file(*name, SimpleFileOptions::default()).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn small() -> Limits {
    Limits { entry_bytes: 1000, total_bytes: 1500, depth: 2, entries: 10, ..Limits::default() }
}

#[test]
fn a_document_passes_and_is_counted_as_it_unpacks() {
    let z = zip_of(&[("word/document.xml", b"<w:document/>"), ("docProps/app.xml", &[b'x'; 500])]);
    assert_eq!(inspect(&z, &small()), Ok(Some(Contents { entries: 2, unpacked: 513, depth: 0 })));
    assert_eq!(inspect(b"%PDF-1.7 ...", &small()), Ok(None), "not an archive");
}

#[test]
fn an_entry_longer_than_the_scanner_reads_is_refused() {
    // The tester's case: padding, then the payload past clamd's MaxFileSize.
    let mut padded = vec![0u8; 1001];
    padded.extend(b"payload");
    assert_eq!(inspect(&zip_of(&[("a.txt", &padded)]), &small()), Err(Refusal::TooLarge));
    let under = vec![0u8; 1000];
    assert!(inspect(&zip_of(&[("a.txt", &under)]), &small()).is_ok());
}

#[test]
fn the_whole_tree_counts_nested_archives_included() {
    let inner = zip_of(&[("a", &[0u8; 900]), ("b", &[0u8; 900])]);
    assert_eq!(inspect(&zip_of(&[("inner.zip", &inner)]), &small()), Err(Refusal::TooLarge), "a nested bomb");
    let two = zip_of(&[("a", &[0u8; 800]), ("b", &[0u8; 800])]);
    assert_eq!(inspect(&two, &small()), Err(Refusal::TooLarge), "entries within the limit, the sum past it");
}

#[test]
fn nesting_is_followed_to_a_depth() {
    let one = zip_of(&[("x.txt", b"x")]);
    let two = zip_of(&[("one.zip", &one)]);
    let three = zip_of(&[("two.docx", &two)]);
    assert_eq!(inspect(&three, &small()).map(|c| c.map(|c| (c.depth, c.entries))), Ok(Some((2, 3))));
    let four = zip_of(&[("three.zip", &three)]);
    assert_eq!(inspect(&four, &small()), Err(Refusal::TooDeep));
}

#[test]
fn too_many_entries_are_refused_before_unpacking_them_all() {
    let names: Vec<String> = (0..11).map(|i| format!("e{i}")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    assert_eq!(inspect(&zip_of(&entries), &small()), Err(Refusal::TooManyEntries));
}

#[test]
fn encrypted_entries_are_refused_unless_allowed() {
    use zip::unstable::write::FileOptionsExt;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().with_deprecated_encryption(b"secret").unwrap();
    w.start_file("report.pdf", options).unwrap();
    w.write_all(b"%PDF-1.7 hidden").unwrap();
    let z = w.finish().unwrap().into_inner();
    assert_eq!(inspect(&z, &small()), Err(Refusal::Encrypted));
    let nested = zip_of(&[("inner.zip", &z)]);
    assert_eq!(inspect(&nested, &small()), Err(Refusal::Encrypted), "inside another archive too");
    let allowed = Limits { allow_encrypted: true, ..small() };
    assert_eq!(inspect(&z, &allowed), Ok(Some(Contents { entries: 1, unpacked: 0, depth: 0 })));
}

#[test]
fn executables_are_refused_by_name_and_by_content() {
    for (name, content) in [
        ("setup.exe", &b"anything"[..]),
        ("dir/run.SH", b"echo"),
        ("invoice.pdf", b"MZ\x90\x00"),
        ("notes.txt", b"#!/bin/sh\nrm -rf /"),
        ("photo.jpg", b"\x7fELF\x02\x01"),
    ] {
        assert_eq!(inspect(&zip_of(&[(name, content)]), &small()), Err(Refusal::Executable), "{name}");
    }
    let allowed = Limits { allow_executables: true, ..small() };
    assert!(inspect(&zip_of(&[("setup.exe", b"MZ")]), &allowed).is_ok());
    assert!(inspect(&zip_of(&[("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")]), &small()).is_ok());
}

#[test]
fn a_broken_archive_is_unreadable() {
    let z = zip_of(&[("a.txt", &[b'a'; 300])]);
    assert_eq!(inspect(&z[..z.len() - 30], &small()), Err(Refusal::Unreadable), "no end record");
    let mut corrupt = z.clone();
    let at = corrupt.windows(5).position(|w| w == b"a.txt").unwrap() + 8;
    corrupt[at] ^= 0xff; // inside the deflated data
    assert_eq!(inspect(&corrupt, &small()), Err(Refusal::Unreadable));
    assert_eq!(inspect(b"PK\x03\x04", &small()), Err(Refusal::Unreadable));
}
