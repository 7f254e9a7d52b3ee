//! Records of real evaluations: only the files read are kept, the bytes round-trip, and the replayed request
//! evaluates to the same value from memory or, with a binary file, from a scratch directory.

#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, fs, time::Duration};

use bytes::Bytes;
use jrsonnet_evaluator::manifest::JsonFormat;

use super::*;
use crate::{Cleanup, Library, RenderRequest, RenderedArtifact, Variable, evaluate::evaluate_and_manifest};

const LIMITS: Limits = Limits { evaluation_timeout: Duration::from_secs(5), max_stack: 200, max_artifact_bytes: 0 };

/// Evaluates in this thread: the JSON text and the files read.
fn evaluate(request: &RenderRequest) -> (String, Vec<String>) {
    evaluate_and_manifest(request, None, LIMITS.max_stack, Cleanup::Collect, |value, files_read| {
        Ok((value.manifest(JsonFormat::minify())?, files_read.paths()))
    })
    .unwrap()
}

fn artifact_of(files_read: Vec<String>) -> RenderedArtifact {
    RenderedArtifact {
        tarball: Bytes::from_static(b"tarball"),
        sha256: [7; 32],
        files: vec!["configmap-x.yaml".to_owned()],
        files_read,
        objects: 1,
    }
}

fn text_files(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files.iter().map(|(path, content)| ((*path).to_owned(), (*content).to_owned())).collect()
}

fn request_with_library() -> RenderRequest {
    RenderRequest {
        entry_file: "main.jsonnet".to_owned(),
        files: text_files(&[
            (
                "main.jsonnet",
                "function(tla) (import 'lib/a.libsonnet') + (import 'k.libsonnet') + { tla: tla, ext: std.extVar('e') }",
            ),
            ("lib/a.libsonnet", "{ a: importstr 'data.txt' }"),
            ("lib/data.txt", "hello"),
            ("unused.jsonnet", "error 'never read'"),
        ]),
        libraries: vec![Library {
            name: "kube".to_owned(),
            import_path: Some("github.com/x/kube".to_owned()),
            files: text_files(&[("k.libsonnet", "{ k: 1 }"), ("unused.libsonnet", "{}")]),
            ..Library::default()
        }],
        ext_vars: vec![Variable { name: "e".to_owned(), value: "ext".to_owned(), code: false }],
        tlas: vec![Variable { name: "tla".to_owned(), value: "{ n: 2 }".to_owned(), code: true }],
        ..RenderRequest::default()
    }
}

#[test]
fn a_record_keeps_the_files_read_and_replays_to_the_same_value() {
    let request = request_with_library();
    let (json, files_read) = evaluate(&request);
    assert_eq!(files_read, ["main.jsonnet", "lib/a.libsonnet", "github.com/x/kube/k.libsonnet", "lib/data.txt"]);
    let original_reads = files_read.clone();
    let record = RevisionRecord::of(
        &request,
        &artifact_of(files_read),
        LIMITS,
        SystemTime::UNIX_EPOCH,
        Duration::from_millis(12),
    )
    .unwrap();
    let recorded: Vec<&String> = record.request.files.iter().collect();
    assert_eq!(recorded, ["github.com/x/kube/k.libsonnet", "lib/a.libsonnet", "lib/data.txt", "main.jsonnet"]);
    assert_eq!(record.revision.digest, format!("sha256:{}", "07".repeat(32)));
    assert_eq!(record.render.started_at, "1970-01-01T00:00:00.000Z");
    assert_eq!(record.limits(), LIMITS);

    let decoded = RevisionRecord::decode(&record.encode().unwrap()).unwrap();
    assert_eq!(decoded, record);

    let scratch = tempfile::tempdir().unwrap();
    let replayed = decoded.replay_request(scratch.path()).unwrap();
    assert!(replayed.directory.is_none(), "text files replay from memory");
    assert_eq!(replayed.libraries[0].mount_directory(), "github.com/x/kube");
    assert!(!replayed.files.contains_key("unused.jsonnet"));
    let (replayed_json, replayed_reads) = evaluate(&replayed);
    assert_eq!(replayed_json, json);
    assert_eq!(replayed_reads, original_reads, "the replay reads what the render read, in the same order");
    assert_eq!(fs::read_dir(scratch.path()).unwrap().count(), 0, "nothing written for text files");
}

#[test]
fn a_binary_file_replays_from_a_scratch_directory() {
    let tree = tempfile::tempdir().unwrap();
    fs::write(tree.path().join("main.jsonnet"), "{ bytes: importbin 'blob.bin' }").unwrap();
    fs::write(tree.path().join("blob.bin"), [0xff_u8, 0x00, 0xfe]).unwrap();
    fs::write(tree.path().join("other.bin"), [0xff_u8]).unwrap();
    let request = RenderRequest {
        entry_file: "main.jsonnet".to_owned(),
        directory: Some(tree.path().to_path_buf()),
        ..RenderRequest::default()
    };
    let (json, files_read) = evaluate(&request);
    assert_eq!(json, r#"{"bytes":[255,0,254]}"#);
    let record =
        RevisionRecord::of(&request, &artifact_of(files_read), LIMITS, SystemTime::now(), Duration::ZERO).unwrap();
    assert_eq!(record.contents["blob.bin"], [0xff_u8, 0x00, 0xfe]);
    assert_eq!(record.request.files, ["blob.bin", "main.jsonnet"]);

    let scratch = tempfile::tempdir().unwrap();
    let replayed = RevisionRecord::decode(&record.encode().unwrap()).unwrap().replay_request(scratch.path()).unwrap();
    assert!(replayed.directory.as_ref().unwrap().starts_with(scratch.path()));
    assert_eq!(evaluate(&replayed).0, json);
}

#[test]
fn a_hostile_record_is_refused() {
    let request = request_with_library();
    let (_, files_read) = evaluate(&request);
    let record =
        RevisionRecord::of(&request, &artifact_of(files_read), LIMITS, SystemTime::now(), Duration::ZERO).unwrap();

    assert!(matches!(RevisionRecord::decode(b"not zstd"), Err(RecordError::Unreadable(_))));
    let bytes = record.encode().unwrap();
    assert!(matches!(RevisionRecord::decode(&bytes[..bytes.len() / 2]), Err(RecordError::Unreadable(_))));
    let error = RevisionRecord::decode_at_most(&bytes, 100).unwrap_err();
    assert!(error.to_string().contains("more than 100 bytes"), "{error}");

    let mut other = record.clone();
    other.schema = "jaas.metio.wtf/revision-record/v9".to_owned();
    let error = RevisionRecord::decode(&other.encode().unwrap()).unwrap_err();
    assert!(error.to_string().contains("revision-record/v9") && error.to_string().contains("reads"), "{error}");

    let mut escaping = record.clone();
    escaping.contents.insert("../outside.bin".to_owned(), vec![0xff]);
    let scratch = tempfile::tempdir().unwrap();
    let error = escaping.replay_request(scratch.path()).unwrap_err();
    assert!(error.to_string().contains("../outside.bin"), "{error}");
    assert!(!scratch.path().parent().unwrap().join("outside.bin").exists());
    // The tar crate refuses to write such a name, so the entry is patched in by hand, as an attacker would.
    let error = RevisionRecord::decode(&with_entry(&record_json(&escaping), "files/../outside.bin")).unwrap_err();
    assert!(error.to_string().contains("files/../outside.bin"), "{error}");
}

fn record_json(record: &RevisionRecord) -> Vec<u8> {
    serde_json::to_vec(record).unwrap()
}

/// A record whose second entry is named `name` byte for byte, whatever the name.
fn with_entry(json: &[u8], name: &str) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, bytes) in [("record.json", json), ("placeholder", &[0xff_u8][..])] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        if path == "placeholder" {
            let field = &mut header.as_old_mut().name;
            field.fill(0);
            field[..name.len()].copy_from_slice(name.as_bytes());
        } else {
            header.set_path(path).unwrap();
        }
        header.set_cksum();
        tar.append(&header, bytes).unwrap();
    }
    zstd::bulk::compress(&tar.into_inner().unwrap(), 1).unwrap()
}
