//! Records of real evaluations: only the files read are kept, the bytes round-trip, and the replayed request
//! evaluates to the same value from memory or, with a binary file, from a scratch directory.

#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, fs, time::Duration};

use bytes::Bytes;
use jrsonnet_evaluator::manifest::JsonFormat;

use super::*;
use crate::{Cleanup, Library, RenderRequest, RenderedArtifact, Variable, evaluate::evaluate_and_manifest};

const LIMITS: Limits = Limits { evaluation_timeout: Duration::from_secs(5), max_stack: 200, max_artifact_bytes: 0 };

/// Evaluates in this thread, as a worker does: the JSON text, and the artifact of a render that packed the files
/// read.
fn evaluate(request: &RenderRequest) -> (String, RenderedArtifact) {
    evaluate_and_manifest(request, None, LIMITS.max_stack, Cleanup::Collect, |value, files_read| {
        let json = value.manifest(JsonFormat::minify())?;
        Ok((json, artifact_of(files_read.paths(), files_read.pack().unwrap())))
    })
    .unwrap()
}

fn artifact_of(files_read: Vec<String>, inputs: PackedInputs) -> RenderedArtifact {
    RenderedArtifact {
        tarball: Bytes::from_static(b"tarball"),
        sha256: [7; 32],
        files: vec!["configmap-x.yaml".to_owned()],
        files_read,
        inputs: Some(inputs),
        objects: 1,
    }
}

fn record_of(request: &RenderRequest, artifact: &RenderedArtifact) -> RevisionRecord {
    RevisionRecord::of(request, artifact, LIMITS, SystemTime::UNIX_EPOCH, Duration::from_millis(12)).unwrap()
}

/// The record's files, unpacked.
fn contents(record: &RevisionRecord) -> BTreeMap<String, Vec<u8>> {
    record.inputs.contents().unwrap().into_owned()
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
    let (json, artifact) = evaluate(&request);
    let original_reads = artifact.files_read.clone();
    assert_eq!(original_reads, ["main.jsonnet", "lib/a.libsonnet", "github.com/x/kube/k.libsonnet", "lib/data.txt"]);
    let record = record_of(&request, &artifact);
    let recorded: Vec<&String> = record.request.files.iter().collect();
    assert_eq!(recorded, ["github.com/x/kube/k.libsonnet", "lib/a.libsonnet", "lib/data.txt", "main.jsonnet"]);
    assert_eq!(record.revision.digest, format!("sha256:{}", "07".repeat(32)));
    assert_eq!(record.render.started_at, "1970-01-01T00:00:00.000Z");
    assert_eq!(record.limits(), LIMITS);

    let decoded = RevisionRecord::decode(&record.encode().unwrap()).unwrap();
    assert_eq!(contents(&decoded), contents(&record));
    assert_eq!(contents(&record)["lib/data.txt"], b"hello");
    assert_eq!(
        RevisionRecord { inputs: RecordedFiles::default(), ..decoded.clone() },
        RevisionRecord { inputs: RecordedFiles::default(), ..record }
    );

    let scratch = tempfile::tempdir().unwrap();
    let replayed = decoded.replay_request(scratch.path()).unwrap();
    assert!(replayed.directory.is_none(), "text files replay from memory");
    assert_eq!(replayed.libraries[0].mount_directory(), "github.com/x/kube");
    assert!(!replayed.files.contains_key("unused.jsonnet"));
    let (replayed_json, replayed) = evaluate(&replayed);
    assert_eq!(replayed_json, json);
    assert_eq!(replayed.files_read, original_reads, "the replay reads what the render read, in the same order");
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
    let (json, artifact) = evaluate(&request);
    assert_eq!(json, r#"{"bytes":[255,0,254]}"#);
    let record = record_of(&request, &artifact);
    assert_eq!(contents(&record)["blob.bin"], [0xff_u8, 0x00, 0xfe]);
    assert_eq!(record.request.files, ["blob.bin", "main.jsonnet"]);

    let scratch = tempfile::tempdir().unwrap();
    let replayed = RevisionRecord::decode(&record.encode().unwrap()).unwrap().replay_request(scratch.path()).unwrap();
    assert!(replayed.directory.as_ref().unwrap().starts_with(scratch.path()));
    assert_eq!(evaluate(&replayed).0, json);
}

#[test]
fn a_hostile_record_is_refused() {
    let request = request_with_library();
    let record = record_of(&request, &evaluate(&request).1);

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
    let mut files = contents(&record);
    files.insert("../outside.bin".to_owned(), vec![0xff]);
    escaping.inputs = RecordedFiles::Unpacked(files);
    let scratch = tempfile::tempdir().unwrap();
    let error = escaping.replay_request(scratch.path()).unwrap_err();
    assert!(error.to_string().contains("../outside.bin"), "{error}");
    assert!(!scratch.path().parent().unwrap().join("outside.bin").exists());
    // The tar crate refuses to write such a name, so the entry is patched in by hand, as an attacker would.
    let error = RevisionRecord::decode(&with_entry(&record_json(&escaping), "files/../outside.bin")).unwrap_err();
    assert!(error.to_string().contains("files/../outside.bin"), "{error}");
}

#[test]
fn a_record_is_a_tar_in_two_zstd_frames_with_the_files_in_the_order_read() {
    let request = request_with_library();
    let (_, artifact) = evaluate(&request);
    let mut record = record_of(&request, &artifact);
    let packed = record.encode().unwrap();
    let first_frame = zstd::zstd_safe::find_frame_compressed_size(&packed).unwrap();
    assert!(first_frame < packed.len(), "record.json is a frame of its own");
    assert_eq!(&packed[first_frame..], artifact.inputs.as_ref().unwrap().frame(), "the worker's frame ends it");

    // What `zstd -d | tar t` shows.
    let tar = zstd::decode_all(packed.as_slice()).unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    let names: Vec<String> =
        archive.entries().unwrap().map(|entry| entry.unwrap().path().unwrap().display().to_string()).collect();
    let mut expected = vec!["record.json".to_owned()];
    expected.extend(artifact.files_read.iter().map(|path| format!("files/{path}")));
    assert_eq!(names, expected);

    // Unpacked files (a record read back, or made by hand) encode and read back the same.
    record.inputs = RecordedFiles::Unpacked(contents(&record));
    let decoded = RevisionRecord::decode(&record.encode().unwrap()).unwrap();
    assert_eq!(contents(&decoded), contents(&record));
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
