//! Flux's source CRDs as `jaas crdgen --flux-sources` prints them: every field path we declare must mean in ours
//! what it means in Flux's own CRDs (`../shared/fixtures/flux-*-crd*.yaml`, compared when present), and a real
//! kube-apiserver 1.20 (`KUBECONFIG`, required) must accept them and store sources as source-controller writes
//! them, `status.artifact` included.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

// The harness re-exports what the controller tests use; this test needs only a client, a namespace and polling.
#[allow(unused_imports)]
mod cluster;

use std::time::Duration;

use cluster::{JAAS, TestNamespace, client, eventually};
use jaas_controller::crd::gen_crds::flux_source_crds;
use jaas_controller::crd::{Bucket, GitRepository, OCIRepository};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures");

/// Keywords that, where our schema sets them, must carry Flux's value: what a field is and what it accepts.
const SAME_WHERE_DECLARED: [&str; 9] =
    ["type", "format", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"];

/// The one difference we accept: kube's derive makes `spec` required, which Flux's CRDs leave optional. Every
/// source Flux can act on has a spec (its own fields `url`/`interval` are required), so a test cluster refusing
/// spec-less sources changes nothing we test; code reading sources from a real cluster must not assume one.
const ACCEPTED_DIFFERENCES: [&str; 1] = [r#": "spec" is required here, optional in Flux"#];

/// Where `ours` says something about a field that `flux` does not say the same way, each as `path: problem`:
/// a field Flux lacks, a keyword of [`SAME_WHERE_DECLARED`] with another value, an enum value Flux refuses, or a
/// field we require (we rely on its presence) that Flux does not.
fn differences(ours: &Value, flux: &Value, path: &str) -> Vec<String> {
    let mut found = Vec::new();
    for keyword in SAME_WHERE_DECLARED {
        let (mine, theirs) = (&ours[keyword], &flux[keyword]);
        let same_number = mine.as_f64().is_some() && mine.as_f64() == theirs.as_f64();
        if !mine.is_null() && mine != theirs && !same_number {
            found.push(format!("{path}: {keyword} is {mine} here, {theirs} in Flux"));
        }
    }
    for value in ours["enum"].as_array().into_iter().flatten() {
        if !flux["enum"].as_array().is_some_and(|allowed| allowed.contains(value)) {
            found.push(format!("{path}: enum value {value} is not one of Flux's"));
        }
    }
    for key in ours["required"].as_array().into_iter().flatten() {
        if !flux["required"].as_array().is_some_and(|required| required.contains(key)) {
            found.push(format!("{path}: {key} is required here, optional in Flux"));
        }
    }
    for (key, property) in ours["properties"].as_object().into_iter().flatten() {
        let child = format!("{path}.{key}");
        match flux["properties"].get(key) {
            Some(theirs) => found.extend(differences(property, theirs, &child)),
            None => found.push(format!("{child}: not a field of Flux's")),
        }
    }
    for nested in ["items", "additionalProperties"] {
        if ours[nested].is_object() {
            found.extend(differences(&ours[nested], &flux[nested], &format!("{path}[{nested}]")));
        }
    }
    found
}

/// Flux's CRD for the kind named `singular`, preferring the copy without CEL rules that 1.20 accepts; `None` when
/// absent.
fn flux_crd(singular: &str) -> Option<Value> {
    let text = [format!("{FIXTURES}/flux-{singular}-crd-1.20.yaml"), format!("{FIXTURES}/flux-{singular}-crd.yaml")]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())?;
    Some(serde_saphyr::from_str(&text).unwrap())
}

fn version_v1(crd: &Value) -> Value {
    let versions = crd["spec"]["versions"].as_array().unwrap();
    versions.iter().find(|v| v["name"] == "v1").cloned().unwrap()
}

/// Everything about `ours` that does not agree with `flux`: names, scope, the v1 version and its schema.
fn crd_differences(ours: &CustomResourceDefinition, flux: &Value) -> Vec<String> {
    let ours = serde_json::to_value(ours).unwrap();
    let mut found = Vec::new();
    let mut same = |what: &str, mine: &Value, theirs: &Value| {
        if mine != theirs {
            found.push(format!("{what} is {mine} here, {theirs} in Flux"));
        }
    };
    same("group", &ours["spec"]["group"], &flux["spec"]["group"]);
    same("scope", &ours["spec"]["scope"], &flux["spec"]["scope"]);
    for field in ["kind", "plural", "singular", "shortNames"] {
        same(&format!("names.{field}"), &ours["spec"]["names"][field], &flux["spec"]["names"][field]);
    }
    let (mine, theirs) = (version_v1(&ours), version_v1(flux));
    for field in ["served", "storage", "subresources"] {
        same(&format!("v1 {field}"), &mine[field], &theirs[field]);
    }
    let columns = |v: &Value| -> Value {
        let columns = v["additionalPrinterColumns"].as_array().into_iter().flatten();
        columns.map(|c| json!([c["name"], c["type"], c["jsonPath"]])).collect()
    };
    same("v1 printer columns", &columns(&mine), &columns(&theirs));
    let schema = |v: &Value| v["schema"]["openAPIV3Schema"].clone();
    found.extend(differences(&schema(&mine), &schema(&theirs), ""));
    found.retain(|difference| !ACCEPTED_DIFFERENCES.contains(&difference.as_str()));
    found
}

#[test]
fn every_field_we_declare_means_what_it_means_in_fluxs_crds() {
    let mut compared = 0;
    for ours in flux_source_crds() {
        let plural = ours.spec.names.plural.clone();
        let Some(flux) = flux_crd(ours.spec.names.singular.as_deref().unwrap_or_default()) else {
            eprintln!("Flux's CRD for {plural} is not in {FIXTURES}: checking only that ours generates");
            assert!(ours.spec.versions[0].schema.is_some(), "{plural}: a schema");
            continue;
        };
        let found = crd_differences(&ours, &flux);
        assert!(found.is_empty(), "{plural} differs from Flux's CRD:\n{}", found.join("\n"));
        compared += 1;
    }
    eprintln!("compared {compared} of {} CRDs with Flux's", flux_source_crds().len());
}

#[test]
fn the_comparison_finds_each_kind_of_difference() {
    let flux = json!({"type": "object", "required": ["a"], "properties": {
        "a": {"type": "string", "enum": ["x", "y"]},
        "b": {"type": "array", "items": {"type": "integer", "format": "int64", "maximum": 5}},
    }});
    assert_eq!(differences(&flux, &flux, ""), Vec::<String>::new());
    let subset = json!({"type": "object", "properties": {"a": {"type": "string", "enum": ["y"]},
                                                         "b": {"items": {"maximum": 5.0}}}});
    assert_eq!(differences(&subset, &flux, ""), Vec::<String>::new());
    let ours = json!({"type": "object", "required": ["a", "b"], "properties": {
        "a": {"type": "integer", "enum": ["z"]},
        "b": {"type": "array", "items": {"type": "integer", "format": "int32"}},
        "c": {"type": "string"},
    }});
    assert_eq!(
        differences(&ours, &flux, ""),
        [
            r#": "b" is required here, optional in Flux"#,
            r#".a: type is "integer" here, "string" in Flux"#,
            r#".a: enum value "z" is not one of Flux's"#,
            r#".b[items]: format is "int32" here, "int64" in Flux"#,
            ".c: not a field of Flux's",
        ]
    );
}

/// Installs the CRDs `jaas crdgen --flux-sources` prints and waits until the API server serves them.
async fn install_flux_source_crds(client: &Client) {
    let output = std::process::Command::new(JAAS).args(["crdgen", "--flux-sources"]).output().unwrap();
    assert!(output.status.success(), "jaas crdgen failed: {}", String::from_utf8_lossy(&output.stderr));
    let crds: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&String::from_utf8(output.stdout).unwrap())
        .expect("jaas crdgen --flux-sources prints CRDs");
    assert_eq!(crds.len(), 3);
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds {
        let name = crd.name_any();
        api.patch(&name, &PatchParams::apply("jaas-tests").force(), &Patch::Apply(&crd)).await.unwrap();
        eventually(&format!("CRD {name} to be established"), Duration::from_secs(30), || {
            let (api, name) = (api.clone(), name.clone());
            async move {
                let crd = api.get(&name).await.ok()?;
                crd.status?.conditions?.iter().any(|c| c.type_ == "Established" && c.status == "True").then_some(())
            }
        })
        .await;
    }
}

/// A source object of `kind` named `name`, with `spec`.
fn source(kind: &str, name: &str, spec: &Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": kind, "metadata": {"name": name}, "spec": spec,
    }))
    .unwrap()
}

#[tokio::test]
async fn the_api_server_accepts_our_flux_crds_and_keeps_what_source_controller_writes() {
    let client = client().await;
    install_flux_source_crds(&client).await;
    let namespace = TestNamespace::create(&client, "flux-crds").await;
    let create = PostParams::default();
    let kinds = [
        (ApiResource::erase::<GitRepository>(&()), json!({"url": "https://example.com/r.git", "interval": "1m"})),
        (ApiResource::erase::<OCIRepository>(&()), json!({"url": "oci://example.com/r", "interval": "5m"})),
        (ApiResource::erase::<Bucket>(&()), json!({"bucketName": "b", "endpoint": "s3.example.com", "interval": "1h"})),
    ];
    for (resource, spec) in &kinds {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace.name, resource);
        let mut extended = spec.clone();
        extended["suspend"] = json!(false);
        extended["ref"] = json!({"branch": "main"});
        let stored = api.create(&create, &source(&resource.kind, "demo", &extended)).await.unwrap();
        assert_eq!(stored.data["spec"], extended, "{}: the undeclared spec is kept", resource.kind);
        let mut missing = spec.clone();
        missing.as_object_mut().unwrap().remove("interval");
        let refused = api.create(&create, &source(&resource.kind, "bad", &missing)).await.unwrap_err();
        assert!(refused.to_string().contains("spec.interval: Required value"), "{}: {refused}", resource.kind);
    }
    let repositories: Api<GitRepository> = Api::namespaced(client.clone(), &namespace.name);
    let status = json!({"status": {
        "observedGeneration": 1,
        "artifact": {
            "digest": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
            "lastUpdateTime": "2025-06-01T12:00:00Z", "path": "gitrepository/ns/demo/abc.tar.gz",
            "revision": "main@sha1:0123456789abcdef0123456789abcdef01234567", "size": 1024,
            "url": "http://source-controller.flux-system.svc/gitrepository/ns/demo/abc.tar.gz",
            "metadata": {"org.opencontainers.image.revision": "0123456"},
        },
        "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded", "message": "stored artifact",
                        "lastTransitionTime": "2025-06-01T12:00:00Z", "observedGeneration": 1}],
    }});
    let patched = repositories.patch_status("demo", &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
    let read = repositories.get("demo").await.unwrap();
    assert_eq!(read.status, patched.status);
    let artifact = read.status.as_ref().and_then(|s| s.artifact.clone()).expect("status.artifact is kept");
    assert_eq!(serde_json::to_value(&artifact).unwrap(), status["status"]["artifact"]);
    assert_eq!(read.status.unwrap().conditions[0].reason, "Succeeded");
    namespace.delete().await;
}
